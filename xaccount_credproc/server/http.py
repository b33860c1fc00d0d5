"""The listener: the container credentials protocol over HTTP/1.1, on asyncio (one thread for
every connection; fetches run in threads of `supply`).

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
    def __init__(self, supply, registry, log):
        self.supply = supply
        self.registry = registry
        self.log = log
        self.connections = 0

    async def connection(self, reader, writer, listener: Listener) -> None:
        peer = writer.get_extra_info("peername")
        peer = peer[0] if isinstance(peer, tuple) else "?"
        self.connections += 1
        try:
            if self.connections > MAX_CONNECTIONS:
                await self._send(writer, error(503, "Busy", "too many connections to the "
                                 "credential server; retry"), keep=False)
                return
            first = True
            while True:
                keep = await self._one_request(reader, writer, listener, peer,
                                               HEAD_TIME if first else IDLE_TIME)
                if not keep:
                    return
                first = False
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self.connections -= 1
            writer.close()

    async def _one_request(self, reader, writer, listener, peer, wait: float) -> bool:
        try:
            async with asyncio.timeout(wait):  # cheaper than wait_for: no task per request
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            await self._send(writer, error(431, "RequestTooLarge", "the request's head is "
                             f"over {MAX_HEAD} bytes"), keep=False)
            return False
        except (asyncio.IncompleteReadError, TimeoutError):
            return False
        started = time.perf_counter()
        request = _parse(head)
        if isinstance(request, Answer):
            await self._send(writer, request, keep=False)
            self._log(peer, None, None, request.status, started)
            return False
        method, target, version, headers = request
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        client = None
        answer = self._refusal(method, headers, listener)
        if answer is None:
            answer, client = await self._route(target.split("?", 1)[0], headers)
        await self._send(writer, answer, keep=keep and answer.status != 400)
        self._log(peer, client, answer.profile, answer.status, started)
        return keep and answer.status != 400

    @staticmethod
    def _refusal(method: str, headers: dict, listener: Listener) -> Answer | None:
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

    async def _route(self, path: str, headers: dict):
        if path == HEALTH_PATH:
            return Answer(200, {"Server": "xaccount-credproc", "Pid": os.getpid()}), None
        if path.startswith(PROTOCOL_PATH):
            name = path[len(PROTOCOL_PATH):]
            token = headers.get("authorization")
            if token is None:
                return error(401, "Unauthorized", "no Authorization header: give the client "
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN from 'xaccount-credproc "
                             f"server-env --profile {name}'", name), None
            if token[:7].lower() == "bearer ":
                token = token[7:]
            client = self.registry.by_token(token)
            if client is None:
                return error(401, "Unauthorized", "the token is not one this server gave out "
                             "(revoked, or from before a reboot): get a new one with "
                             f"'xaccount-credproc server-env --profile {name}'", name), None
            if name not in client.profiles:
                allowed = ", ".join(f"'{p}'" for p in client.profiles)
                return error(403, "Forbidden", f"this client's token is for {allowed}, not "
                             f"'{name}': get one with 'xaccount-credproc server-env --profile "
                             f"{name}'", name), client
            return await self.credentials(name), client
        if path.startswith(CONTAINER_PATH):
            client = self.registry.by_path(path[len(CONTAINER_PATH):])
            if client is None:
                return error(401, "Unauthorized", "this container URI is not one this server "
                             "gave out (revoked, or from before a reboot): get a new one with "
                             "'xaccount-credproc server-env --container --profile NAME'"), None
            return await self.credentials(client.profiles[0]), client
        return error(404, "NotFound", f"nothing is served at this path; credentials are at "
                     f"{PROTOCOL_PATH}PROFILE"), None

    async def credentials(self, name: str) -> Answer:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            answer, job = self.supply.answer(name)
            if answer is not None:
                return answer
            # Someone is being asked for a code: say so soon, rather than wait for them.
            wait = MFA_WAIT if job.waiting_for_mfa and not job.background else REQUEST_WAIT
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

    @staticmethod
    async def _send(writer, answer: Answer, keep: bool) -> None:
        body = json.dumps(answer.body).encode()
        head = (f"HTTP/1.1 {answer.status} {REASONS.get(answer.status, 'Error')}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                f"Connection: {'keep-alive' if keep else 'close'}\r\n")
        if answer.status == 405:
            head += "Allow: GET\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        if writer.transport.get_write_buffer_size():  # else it went out at once: no wait
            await writer.drain()

    def _log(self, peer, client, profile, status, started) -> None:
        ms = (time.perf_counter() - started) * 1000
        who = f"{client.id}({client.label})" if client is not None else "-"
        self.log(f"{peer} client={who} profile={_shown(profile or '-')} {status} {ms:.1f}ms")


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
    async def handle(reader, writer):
        await service.connection(reader, writer, listener)

    if sock is not None:
        return await asyncio.start_server(handle, sock=sock, limit=MAX_HEAD)
    return await asyncio.start_server(handle, listener.address, listener.port, limit=MAX_HEAD,
                                      reuse_address=True)
