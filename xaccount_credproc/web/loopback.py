"""The one loopback listener of this package: an HTTP listener on 127.0.0.1 and a free port for
one path, for a browser to come back to once (RFC 8252 7.3). The console's hop (one redirect to
a sign-in URL that must not sit on a command line) and the sign-in callbacks (IAM Identity
Center's PKCE code) are two uses of it.

Every GET of its path goes to the `handle` function it was given, which answers it and says
whether that request was the one waited for; anything else is 404, and once the request waited
for has come, so is everything. Requests are never logged (a path or a query is a secret until
used); a connection that sends nothing is dropped after a few seconds.
"""

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import UserError

IDLE = 5  # seconds a connection may take to send its request


class Reply:
    """What the listener answers: a status, headers, a body."""

    def __init__(self, status: int, body: bytes = b"", kind: str = "text/plain",
                 headers: dict[str, str] | None = None):
        self.status, self.body, self.kind = status, body, kind
        self.headers = headers or {}


def redirect(location: str) -> Reply:
    """A redirect that leaves nothing behind: not cached, no Referer sent on."""
    return Reply(302, headers={"Location": location, "Referrer-Policy": "no-referrer"})


def page(html: bytes) -> Reply:
    return Reply(200, html, "text/html; charset=utf-8")


# handle(query) -> (the reply, whether this request is the one waited for)
Handler = Callable[[dict[str, str]], tuple[Reply, bool]]


class Listener:
    """Listens from `__enter__` to `__exit__`; `url` is where the browser is sent."""

    def __init__(self, path: str, handle: Handler, name: str = "loopback listener"):
        self.path, self.handle, self.name = path, handle, name
        self.done = threading.Event()
        self._answering = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def __enter__(self) -> "Listener":
        listener = self

        class Request(BaseHTTPRequestHandler):
            timeout = IDLE

            def log_message(self, *args) -> None:  # the URL is a secret until used
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with listener._answering:  # one request at a time may be the one
                    if url.path != listener.path or listener.done.is_set():
                        reply, last = Reply(404, b"Not found"), False
                    else:
                        reply, last = listener.handle(query)
                    self._send(reply)
                    if last:
                        listener.done.set()

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.kind)
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Cache-Control", "no-store")
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(reply.body)

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
        except OSError as e:
            raise UserError(f"cannot listen on 127.0.0.1 for the browser ({e.strerror})",
                            "check that the loopback interface is up") from None
        self._server.daemon_threads = True
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True, name=self.name).start()
        return self

    def wait(self, timeout: float, elsewhere: Callable[[], object] | None = None) -> bool:
        """Whether the request waited for came within `timeout` seconds; gives up early as soon
        as `elsewhere()` (asked every second) is true: what it waits for happened another way."""
        import time

        deadline = time.monotonic() + timeout
        while not self.done.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or elsewhere is not None and elsewhere():
                break
            self.done.wait(min(1.0, left))
        return self.done.is_set()

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
