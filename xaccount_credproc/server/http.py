"""The listener: the container credentials protocol over HTTP/1.1, on asyncio (one thread for
every connection, a Protocol per connection; fetches run in threads of `supply`).

Who may ask: `GET /v1/credentials/PROFILE` with the client's token in `Authorization` (FULL_URI),
or `GET /v1/container/SECRET` (RELATIVE_URI: the path is the secret, as Ruby's SDK sends no
header). No token 401, a token for other profiles 403. A browser page must never read an answer:
`Host` must be the listener's own address (DNS rebinding), and a request with `Origin` or a
`Sec-Fetch-*` header is refused. Only GET, no body, 8 KiB of head read within 5 s, 10 s idle,
128 connections. Every answer is JSON; an error's is `{"code", "message"}` naming the profile
and the fix, because that body is what the AWS CLI shows its user. One log line per request:
client id, profile, status, time; never a token or a path secret.
"""

import asyncio
import json
import os
import time

from . import CONTAINER_PATH, HEALTH_PATH, MFA_WAIT, PROTOCOL_PATH, REQUEST_WAIT
from .supply import Answer, error

MAX_HEAD = 8192
HEAD_TIME = 5.0
IDLE_TIME = 10.0
MAX_CONNECTIONS = 128
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Listener:
    def __init__(self, address: str, port: int, kind: str):
        self.address = address
        self.port = port
        self.kind = kind  # "loopback" or "container"

    @property
    def hosts(self) -> set[str]:
        names = {self.address}
        if self.address == "127.0.0.1":
            names.add("localhost")
        out = {f"{name}:{self.port}" for name in names}
        if self.port == 80:
            out |= names
        return out


class Service:
    """What the listeners share: the credentials, the clients, the log, the connection count."""

    def __init__(self, supply, registry, log):
        self.supply = supply
        self.registry = registry
        self.log = log
        self.connections = 0
        self._cleared = registry.cleared[0] if registry.saved else None

    def refusal(self, method: str, headers: dict, listener: Listener) -> Answer | None:
        if method != "GET":
            return error(405, "MethodNotAllowed", f"{method} is not served; the container "
                         "credentials protocol is GET only")
        if "content-length" in headers and headers["content-length"] != "0" \
                or "transfer-encoding" in headers:
            return error(400, "BadRequest", "a request with a body is not served")
        if headers.get("host", "").lower() not in listener.hosts:
            return error(403, "ForbiddenHost", "the Host header is not this server's address; "
                         f"use http://{sorted(listener.hosts)[0]}")
        if "origin" in headers or any(name.startswith("sec-fetch-") for name in headers):
            return error(403, "ForbiddenOrigin", "requests from web pages are refused")
        return None

    def route(self, path: str, headers: dict):
        """(an answer, the client, None) or (None, the client, the profile whose credentials
        it may have)."""
        if path == HEALTH_PATH:
            return Answer(200, {"Server": "xaccount-credproc", "Pid": os.getpid()}), None, None
        if path.startswith(PROTOCOL_PATH):
            name = path[len(PROTOCOL_PATH):]
            token = headers.get("authorization")
            if token is None:
                return error(401, "Unauthorized", "no Authorization header: give the client "
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN from 'xaccount-credproc "
                             f"server-env --profile {name}'", name), None, None
            if token[:7].lower() == "bearer ":
                token = token[7:]
            client = self.registry.by_token(token)
            if client is None:
                return error(401, "Unauthorized", "the token is not one this server gave out "
                             "(revoked, or from before a reboot): get a new one with "
                             f"'xaccount-credproc server-env --profile {name}'", name), None, None
            if name not in client.profiles:
                allowed = ", ".join(f"'{p}'" for p in client.profiles)
                return error(403, "Forbidden", f"this client's token is for {allowed}, not "
                             f"'{name}': get one with 'xaccount-credproc server-env --profile "
                             f"{name}'", name), client, None
            return None, client, name
        if path.startswith(CONTAINER_PATH):
            client = self.registry.by_path(path[len(CONTAINER_PATH):])
            if client is None:
                return error(401, "Unauthorized", "this container URI is not one this server "
                             "gave out (revoked, or from before a reboot): get a new one with "
                             "'xaccount-credproc server-env --container --profile NAME'"), \
                    None, None
            return None, client, client.profiles[0]
        return error(404, "NotFound", f"nothing is served at this path; credentials are at "
                     f"{PROTOCOL_PATH}PROFILE"), None, None

    def answer_now(self, name: str):
        """(the answer, None), or (None, the fetch to wait for): never blocks."""
        mark, names = self.registry.cleared
        if mark != self._cleared:  # `clear` ran (seen with the clients directory's change)
            self._cleared = mark
            self.supply.forget(names)
        return self.supply.answer(name)

    async def answer_later(self, name: str, job) -> Answer:
        """Wait for `job` at most REQUEST_WAIT (MFA_WAIT once it asks for a code)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            # Someone is being asked for a code: say so soon, rather than wait for them.
            asking = job.waiting_for_mfa or job.waiting_for_login is not None
            wait = MFA_WAIT if asking and not job.background else REQUEST_WAIT
            remaining = started + wait - loop.time()
            if remaining <= 0:
                return self.supply.pending(name, job)
            changed = loop.create_future()

            def wake(future=changed):
                loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))

            job.on_change(wake)  # it asks for MFA, or ends
            try:
                await asyncio.wait_for(changed, remaining)
            except TimeoutError:
                return self.supply.pending(name, job)
            answer, job = self.answer_now(name)
            if answer is not None:
                return answer


class Connection(asyncio.Protocol):
    """One client connection. A warm request is answered within `data_received`, with no task
    or coroutine (what a bare server does); only a request that must wait for a fetch gets a
    task of its own."""

    def __init__(self, service: Service, listener: Listener):
        self.service = service
        self.listener = listener
        self._transport: asyncio.BaseTransport | None = None
        self.peer = "?"
        self.buffer = bytearray()
        self.timer: asyncio.TimerHandle | None = None
        self.waiting: asyncio.Future | None = None  # a request waiting for a fetch
        self.counted = False

    @property
    def transport(self) -> asyncio.Transport:
        """The connection's transport (asyncio calls connection_made before anything else)."""
        assert isinstance(self._transport, asyncio.Transport)
        return self._transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, tuple) else "?"
        self.service.connections += 1
        self.counted = True
        if self.service.connections > MAX_CONNECTIONS:
            self._send(error(503, "Busy", "too many connections to the credential server; "
                             "retry"), keep=False)
            return
        self._arm(HEAD_TIME)

    def connection_lost(self, exc) -> None:
        if self.counted:
            self.service.connections -= 1
            self.counted = False
        if self.timer is not None:
            self.timer.cancel()
        if self.waiting is not None:
            self.waiting.cancel()

    def _arm(self, seconds: float) -> None:
        """Close the connection unless a whole request head arrives within `seconds`."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(seconds, self.transport.close)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiting is None:
            self._next()

    def _next(self) -> None:
        end = self.buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._send(error(431, "RequestTooLarge", "the request's head is over "
                                 f"{MAX_HEAD} bytes"), keep=False)
            return
        head = bytes(self.buffer[:end + 4])
        del self.buffer[:end + 4]
        if self.timer is not None:
            self.timer.cancel()
        self._request(head, time.perf_counter())

    def _request(self, head: bytes, started: float) -> None:
        request = _parse(head)
        if isinstance(request, Answer):
            self._finish(request, None, False, started)
            return
        method, target, version, headers = request
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        service = self.service
        answer = service.refusal(method, headers, self.listener)
        client = name = None
        if answer is None:
            answer, client, name = service.route(target.split("?", 1)[0], headers)
        if answer is None:
            assert name is not None  # route gives the profile whenever it gives no answer
            answer, job = service.answer_now(name)
            if answer is None:  # a fetch is under way: wait for it, bounded
                self.waiting = asyncio.ensure_future(service.answer_later(name, job))
                self.waiting.add_done_callback(
                    lambda task: self._waited(task, client, keep, started))
                return
        self._finish(answer, client, keep, started)

    def _waited(self, task, client, keep: bool, started: float) -> None:
        self.waiting = None
        if task.cancelled() or self.transport.is_closing():
            return
        self._finish(task.result(), client, keep, started)

    def _finish(self, answer: Answer, client, keep: bool, started: float) -> None:
        keep = keep and answer.status != 400
        self._send(answer, keep)
        ms = (time.perf_counter() - started) * 1000
        who = f"{client.id}({client.label})" if client is not None else "-"
        self.service.log(f"{self.peer} client={who} profile={_shown(answer.profile or '-')} "
                         f"{answer.status} {ms:.1f}ms")
        if keep:
            self._arm(IDLE_TIME)
            if self.buffer:
                self._next()

    def _send(self, answer: Answer, keep: bool) -> None:
        body = json.dumps(answer.body).encode()
        head = (f"HTTP/1.1 {answer.status} {REASONS.get(answer.status, 'Error')}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                f"Connection: {'keep-alive' if keep else 'close'}\r\n")
        if answer.status == 405:
            head += "Allow: GET\r\n"
        self.transport.write(head.encode() + b"\r\n" + body)
        if not keep:
            self.transport.close()


def _shown(text: str) -> str:
    """A name from a request, fit for one log line."""
    text = text[:64]
    return text if text.isprintable() else repr(text)


def _parse(head: bytes):
    """(method, target, version, headers with lower-case names) or an Answer (400)."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return error(400, "BadRequest", "the request is not ASCII")
    lines = text[:-4].split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[1].startswith("/"):
        return error(400, "BadRequest", "not an HTTP/1.x request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not name or name in headers and name in ("host", "authorization"):
            return error(400, "BadRequest", "a malformed or repeated header")
        headers[name] = value.strip()
    return parts[0], parts[1], parts[2], headers


async def serve_on(service: Service, listener: Listener, sock=None):
    """An asyncio server for `listener` (on `sock` when given: bound already)."""
    loop = asyncio.get_running_loop()
    if sock is not None:
        return await loop.create_server(lambda: Connection(service, listener), sock=sock)
    return await loop.create_server(lambda: Connection(service, listener), listener.address,
                                    listener.port, reuse_address=True)
