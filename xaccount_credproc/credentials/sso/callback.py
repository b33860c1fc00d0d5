"""The loopback listener the browser comes back to after the PKCE sign-in (RFC 8252 7.3): on
127.0.0.1 and a free port, for one path; it accepts the one callback whose `state` is ours,
answers the browser with a short page, and ignores everything else (another page asking, a
callback with another state: 400, and it keeps waiting)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_HEAD = 8192


class Callback:
    def __init__(self, path: str, state: str, page: bytes):
        self.path, self.state, self.page = path, state, page
        self.code: str | None = None
        self.error: str | None = None
        self._done = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def __enter__(self) -> "Callback":
        callback = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # a connection that sends nothing is dropped

            def log_message(self, *args):  # the URL holds the code: never logged
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path != callback.path or callback._done.is_set():
                    return self._answer(404, b"Not found")
                if query.get("state") != callback.state:
                    return self._answer(400, b"This sign-in is not the one being waited for.")
                if query.get("error"):
                    callback.error = query["error"][:100]
                elif query.get("code"):
                    callback.code = query["code"]
                else:
                    return self._answer(400, b"No authorization code.")
                self._answer(200, callback.page, "text/html; charset=utf-8")
                callback._done.set()

            def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="sso callback").start()
        return self

    def wait(self, timeout: float, elsewhere=None) -> str | None:
        """The authorization code, once the browser is back; None after `timeout` seconds, or
        as soon as `elsewhere()` (asked every second) is true: the login happened another way.
        Raises LoginNeeded when the person declined."""
        import time

        deadline = time.monotonic() + timeout
        while not self._done.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or elsewhere is not None and elsewhere():
                break
            self._done.wait(min(1.0, left))
        if self.error is not None:
            from . import LoginNeeded

            raise LoginNeeded(f"the sign-in was not completed in the browser ({self.error})",
                              "run the login again and allow access")
        return self.code

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
