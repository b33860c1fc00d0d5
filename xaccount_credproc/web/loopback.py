"""The one loopback listener of this package: an HTTP listener on 127.0.0.1 and a free port for
one path, for a browser to come back to once (RFC 8252 7.3). The console's hop (one redirect to
a sign-in URL that must not sit on a command line) and the sign-in callbacks (IAM Identity
Center's PKCE code) are uses of it.

Only the user's own processes are answered. Whatever URL a browser is given is on its command
line, which every local user can read in /proc/PID/cmdline; a loopback port, unlike a file, has
no owner. So each connection's other end is looked up in the kernel's socket tables
(/proc/net/tcp and tcp6 list every socket with the uid that made it): a connection from another
uid is answered 403 and counted, and never uses up what it asked for. Where the platform cannot
tell who connects (`owner_check_available` is False: macOS, Windows), the caller must not give
the listener's URL to anything it would not give the secret itself (console/browsers.py hands
the browser a private file instead).

Every GET of its path from the user goes to the `handle` function it was given, which answers it
and says whether that request was the one waited for; anything else is 404, and once the
request waited for has come, so is everything. Requests are never logged (a path or a query is
a secret until used); a connection that sends nothing is dropped after a few seconds.
"""

import os
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .. import debug
from ..errors import UserError

IDLE = 5  # seconds a connection may take to send its request
SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


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


def owner_check_available() -> bool:
    """Whether this platform tells who is at the other end of a loopback connection."""
    return sys.platform.startswith("linux") and os.path.exists(SOCKET_TABLES[0])


def _hex_address(host: str, port: int) -> tuple[str, str]:
    """(tcp, tcp6) spellings of host:port in /proc/net's tables: an IPv4 address as the
    kernel's 32-bit word in host order, in tcp6 as the v4-mapped ::ffff:a.b.c.d."""
    import socket

    word = socket.inet_aton(host)
    ipv4 = (word[::-1] if sys.byteorder == "little" else word).hex().upper()
    mapped = "0000000000000000" + ("FFFF0000" if sys.byteorder == "little" else "0000FFFF")
    return f"{ipv4}:{port:04X}", f"{mapped}{ipv4}:{port:04X}"


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid of the socket at the `client` end of a loopback connection to `server`, from
    the kernel's socket tables; None when it cannot be found."""
    local = _hex_address(*client[:2])
    remote = _hex_address(*server[:2])
    for table, index in zip(SOCKET_TABLES, (0, 1), strict=True):
        try:
            with open(table, encoding="ascii") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 7 and fields[1] == local[index] and fields[2] == remote[index]:
                return int(fields[7])
    return None


class Listener:
    """Listens from `__enter__` to `__exit__`; `url` is where the browser is sent.
    `refused`: the uids whose connections were refused (None: an owner that could not be
    found), in order."""

    def __init__(self, path: str, handle: Handler, name: str = "loopback listener"):
        self.path, self.handle, self.name = path, handle, name
        self.done = threading.Event()
        self.refused: list[int | None] = []
        self.owner_check = owner_check_available()
        self._answering = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def refusals(self) -> str:
        """The refused connections in words ("" when none), e.g. "uid 1001 (mallory), 3 times"."""
        if not self.refused:
            return ""
        import pwd

        counts: dict[int | None, int] = {}
        for uid in self.refused:
            counts[uid] = counts.get(uid, 0) + 1
        parts = []
        for uid, count in counts.items():
            if uid is None:
                who = "a process whose owner could not be found"
            else:
                try:
                    who = f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
                except KeyError:
                    who = f"uid {uid}"
            parts.append(who + (f", {count} times" if count > 1 else ""))
        return "; ".join(parts)

    def _owner_is_us(self, client: tuple[str, int]) -> bool:
        if not self.owner_check:
            return True  # the caller chose what it hands out accordingly (module docstring)
        uid = peer_uid(client, ("127.0.0.1", self.port))
        if uid == os.geteuid():
            return True
        self.refused.append(uid)
        debug.log(f"{self.name}: refused a connection from "
                  + (f"uid {uid}" if uid is not None else "a socket whose owner is unknown")
                  + f" (client port {client[1]})")
        return False

    def __enter__(self) -> "Listener":
        listener = self

        class Request(BaseHTTPRequestHandler):
            timeout = IDLE

            def log_message(self, *args) -> None:  # the URL is a secret until used
                pass

            def do_GET(self) -> None:
                if not listener._owner_is_us(self.client_address):
                    # Another user's process: answered, counted, and nothing is used up.
                    self._send(Reply(403, b"This belongs to another user."))
                    return
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with listener._answering:  # one request at a time may be the one
                    if url.path != listener.path or listener.done.is_set():
                        reply, last = Reply(404, b"Not found"), False
                    else:
                        reply, last = listener.handle(query)
                    if last:  # before the reply leaves: whoever sees it finds it done
                        listener.done.set()
                    self._send(reply)

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
