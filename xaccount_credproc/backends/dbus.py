"""A minimal D-Bus client for the session bus, of our own: the Secret Service fast path
(backends/secret_service.py) and desktop notifications (prompt/notify.py) use it.

EXTERNAL authentication, method calls, little-endian marshalling of the few types those calls use
(y b u i s o g a ( ) { } v). It trusts nothing it reads: lengths and counts are bounded before
anything is allocated or looped over, signatures are validated (no empty structs, no stray dict
entries, bounded nesting), each reply must have the expected signature and come from the expected
sender, and the whole exchange shares one deadline. Anything odd raises, and the caller falls back
to keyring.

Why our own: jeepney, keyring's D-Bus library, costs about 30 ms to import, on every `aws` command
(figures in secret_service.py).
"""

import time

from .. import environ


def _uid() -> int:
    try:  # without `os` (2 ms of import on a cache hit)
        import posix

        return posix.getuid()
    except ImportError:  # pragma: no cover
        import os

        return os.getuid()

BUS_NAME = "org.freedesktop.DBus"
MAX_MESSAGE = 1 << 20  # our replies are a few KiB: 16 chunks of 1200 characters at most
MAX_ITEMS = 4096
MAX_DEPTH = 32
MAX_SKIPPED = 64  # signals and stray messages tolerated while waiting for a reply
TIMEOUT = 2.0  # one deadline for a whole exchange, unless the caller gives its own


class DBusError(Exception):
    """A failure the peer may legitimately report (an error reply, a closed connection)."""


class Unusable(DBusError):
    """The peer cannot be relied on: no answer within the deadline, or a malformed message."""


class NoAnswer(Unusable):
    """The peer did not answer within the deadline (a hung daemon)."""


class Malformed(Unusable):
    """The peer sent something no correct D-Bus peer sends."""


def _unix_socket():
    # `_socket` directly: `socket` pulls in enum and selectors, ~9 ms on every `aws` command.
    try:
        import _socket

        return _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except (ImportError, AttributeError):  # pragma: no cover - other interpreters
        import socket

        return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)


class Bus:
    def __init__(self, sock, deadline: float):
        self.sock = sock
        self.deadline = deadline
        self.serial = 0
        self.buffer = b""
        self.peer = BUS_NAME  # the sender replies must come from
        self._replies: dict[int, tuple] = {}  # replies that came before their turn, by serial

    @classmethod
    def session(cls, timeout: float | None = None) -> "Bus | None":

        address = environ("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            return None
        deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
        for entry in address.split(";"):
            transport, _, params = entry.partition(":")
            fields = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
            if transport != "unix":
                continue
            if "path" in fields:
                target = _unescape(fields["path"])
            elif "abstract" in fields:
                target = "\0" + _unescape(fields["abstract"])
            else:
                continue
            sock = _unix_socket()
            try:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                sock.connect(target)
                bus = cls(sock, deadline)
                bus._authenticate()
                # Hello's reply (the unique name) is not needed: it is sent, and the calls
                # that follow go with it in one flight (the bus handles them in order).
                bus.send("/org/freedesktop/DBus", BUS_NAME, "Hello", "", [],
                         destination=BUS_NAME)
                return bus
            except Unusable:
                sock.close()
                raise
            except Exception:
                sock.close()
        return None

    def close(self) -> None:
        self.sock.close()

    def _authenticate(self) -> None:
        uid = str(_uid()).encode().hex().encode()
        self.sock.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
        line = self._read_line()
        if not line.startswith(b"OK "):
            raise DBusError("authentication refused")
        self.sock.sendall(b"BEGIN\r\n")

    def _recv(self, size: int) -> bytes:

        left = self.deadline - time.monotonic()
        if left <= 0:
            raise NoAnswer("no answer in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(size)
        except TimeoutError:
            raise NoAnswer("no answer in time") from None
        if not chunk:
            raise DBusError("connection closed")
        return chunk

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > 512:
                raise Malformed("authentication line too long")
            self.buffer += self._recv(512)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _read_exactly(self, size: int) -> bytes:
        if size > MAX_MESSAGE:
            raise Malformed("message too large")
        while len(self.buffer) < size:
            self.buffer += self._recv(min(65536, size - len(self.buffer)))
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def call(self, path, interface, member, signature, args, reply_signature,
             destination: str):
        serial = self.send(path, interface, member, signature, args, destination)
        return self.reply(serial, member, reply_signature,
                          BUS_NAME if destination == BUS_NAME else self.peer)

    def send(self, path, interface, member, signature, args, destination: str) -> int:
        """Send a method call without waiting for its reply (calls may be pipelined: fewer
        round trips on a cache hit); its serial, for `reply`."""
        self.serial += 1
        body = _Writer()
        body.write_all(signature, args)
        fields = [(1, ("o", path)), (2, ("s", interface)), (3, ("s", member)),
                  (6, ("s", destination))]
        if signature:
            fields.append((8, ("g", signature)))
        header = _Writer()
        header.write_all("yyyyuua(yv)", [ord("l"), 1, 0, 1, len(body.data), self.serial,
                                          fields])
        header.pad(8)
        self.sock.sendall(bytes(header.data) + bytes(body.data))
        return self.serial

    def reply(self, serial: int, member: str, reply_signature: str, sender: str):
        """The values of the reply to call `serial`, which must come from `sender`. Replies to
        other calls of ours that come first are kept for their turn; signals are skipped."""
        found = self._replies.pop(serial, None)
        for _ in range(MAX_SKIPPED):
            if found is not None:
                break
            kind, fields, reply_body = self._receive()
            if kind not in (2, 3) or not isinstance(fields.get(5), int) \
                    or not 0 < fields[5] <= self.serial:
                continue  # a signal (e.g. NameAcquired), or not a reply to us
            if fields[5] == serial:
                found = (kind, fields, reply_body)
            elif len(self._replies) < MAX_SKIPPED:
                self._replies[fields[5]] = (kind, fields, reply_body)
        if found is None:
            raise Malformed("too many unrelated messages")
        kind, fields, reply_body = found
        if fields.get(7) != sender:
            raise Malformed(f"{member}: reply from an unexpected sender")
        if kind == 3:
            raise DBusError(f"{member} failed")
        if fields.get(8, "") != reply_signature:
            raise Malformed(f"{member}: unexpected reply signature")
        reader = _Reader(reply_body)
        try:
            values = reader.read_all(reply_signature)
        except (UnicodeDecodeError, ValueError, IndexError, _struct_error()) as e:
            raise Malformed(f"{member}: {type(e).__name__} in reply") from None
        if reader.offset != len(reply_body):
            raise Malformed(f"{member}: trailing bytes in reply")
        return values

    def _receive(self):

        fixed = self._read_exactly(16)
        if fixed[:1] != b"l" or fixed[3] != 1 or not 1 <= fixed[1] <= 4:
            raise Malformed("not a little-endian D-Bus 1 message")
        body_length, fields_length = _u32(fixed, 4), _u32(fixed, 12)
        if body_length > MAX_MESSAGE or fields_length > MAX_MESSAGE \
                or 16 + fields_length + body_length > MAX_MESSAGE:
            raise Malformed("message too large")
        header_rest = self._read_exactly(fields_length + (-(16 + fields_length) % 8))
        body = self._read_exactly(body_length)
        reader = _Reader(fixed + header_rest, offset=12)
        fields = {}
        try:
            entries = reader.read("a(yv)")
        except (UnicodeDecodeError, ValueError, IndexError, _struct_error()) as e:
            raise Malformed(f"{type(e).__name__} in a message header") from None
        for code, (kind, value) in entries:
            expected = _HEADER_FIELD_TYPES.get(code)
            if expected is not None and kind != expected:
                raise Malformed("malformed header field")
            fields[code] = value
        return fixed[1], fields, body


def _struct_error():
    """What a value out of range raises while writing (int.to_bytes; no `struct`, whose C
    module costs half a millisecond of every cache hit)."""
    return OverflowError


def _u32(data, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 4], "little")


# Header field code -> the type the spec gives it (others are ignored).
_HEADER_FIELD_TYPES = {1: "o", 2: "s", 3: "s", 4: "s", 5: "u", 6: "s", 7: "s", 8: "g", 9: "u"}


def _unescape(value: str) -> str:
    if "%" not in value:
        return value
    from urllib.parse import unquote  # only for escaped addresses, which are rare

    return unquote(value)


_ALIGN = {"y": 1, "b": 4, "u": 4, "i": 4, "s": 4, "o": 4, "g": 1, "a": 4, "(": 8, "{": 8,
          "v": 1}


def _split(signature: str) -> list[str]:
    """Complete types of a valid signature: 'a{ss}ou' -> ['a{ss}', 'o', 'u']. Raises DBusError
    for anything that is not a valid signature of the types this module knows."""
    if len(signature) > 255:
        raise Malformed("signature too long")
    types, index = [], 0
    while index < len(signature):
        end = _type_end(signature, index, 0)
        types.append(signature[index:end])
        index = end
    return types


def _type_end(signature: str, index: int, depth: int) -> int:
    if depth > MAX_DEPTH:
        raise Malformed("signature nested too deeply")
    if index >= len(signature):
        raise Malformed("incomplete signature")
    char = signature[index]
    if char == "a":
        if signature[index + 1:index + 2] == "{":  # a dict entry: exactly a basic key and a value
            key = signature[index + 2:index + 3]
            if key not in _BASIC:
                raise Malformed("bad dict entry key")
            end = _type_end(signature, index + 3, depth + 1)
            if signature[end:end + 1] != "}":
                raise Malformed("a dict entry holds exactly two types")
            return end + 1
        return _type_end(signature, index + 1, depth + 1)
    if char == "(":
        index += 1
        if signature[index:index + 1] == ")":
            raise Malformed("empty struct")
        while signature[index:index + 1] != ")":
            index = _type_end(signature, index, depth + 1)
        return index + 1
    if char in _BASIC or char == "v":
        return index + 1
    raise Malformed(f"unsupported type {char!r}")


_BASIC = "ybuisog"


class _Writer:
    def __init__(self):
        self.data = bytearray()

    def pad(self, alignment: int) -> None:
        self.data += b"\0" * (-len(self.data) % alignment)

    def write_all(self, signature: str, values) -> None:
        for kind, value in zip(_split(signature), values, strict=True):
            self.write(kind, value)

    def write(self, kind: str, value) -> None:

        code = kind[0]
        self.pad(_ALIGN[code])
        if code == "y":
            self.data.append(value)
        elif code in "bu":
            self.data += int(value).to_bytes(4, "little")
        elif code == "i":
            self.data += value.to_bytes(4, "little", signed=True)
        elif code in "so":
            encoded = value.encode("utf-8")
            self.data += len(encoded).to_bytes(4, "little") + encoded + b"\0"
        elif code == "g":
            encoded = value.encode("ascii")
            self.data += bytes([len(encoded)]) + encoded + b"\0"
        elif code == "v":
            inner, inner_value = value
            self.write("g", inner)
            self.write(inner, inner_value)
        elif code == "a":
            length_at = len(self.data)
            self.data += b"\0\0\0\0"
            element = kind[1:]
            self.pad(_ALIGN[element[0]])
            start = len(self.data)
            for item in value:
                self.write(element, item)
            self.data[length_at:length_at + 4] = (len(self.data) - start).to_bytes(4, "little")
        elif code in "({":
            self.write_all(kind[1:-1], value)
        else:
            raise DBusError(f"cannot write type {kind}")


class _Reader:
    """Reads values of validated signatures from `data`, never past its end."""

    def __init__(self, data: bytes, offset: int = 0):
        self.data = data
        self.offset = offset
        self.depth = 0

    def align(self, alignment: int) -> None:
        self.offset += -self.offset % alignment
        self._need(0)

    def _need(self, size: int) -> int:
        if self.offset + size > len(self.data):
            raise Malformed("value runs past the end of the message")
        start = self.offset
        self.offset += size
        return start

    def read_all(self, signature: str) -> list:
        return [self.read(kind) for kind in _split(signature)]

    def read(self, kind: str):

        code = kind[0]
        self.align(_ALIGN[code])
        if code == "y":
            return self.data[self._need(1)]
        if code in "bu":
            value = _u32(self.data, self._need(4))
            if code == "b" and value > 1:
                raise Malformed("bad boolean")
            return bool(value) if code == "b" else value
        if code == "i":
            start = self._need(4)
            return int.from_bytes(self.data[start:start + 4], "little", signed=True)
        if code in "so":
            length = _u32(self.data, self._need(4))
            start = self._need(length + 1)
            if self.data[start + length] != 0:
                raise Malformed("string not terminated")
            return bytes(self.data[start:start + length]).decode("utf-8")
        if code == "g":
            length = self.data[self._need(1)]
            start = self._need(length + 1)
            text = bytes(self.data[start:start + length]).decode("ascii")
            _split(text)  # validated before anyone reads by it
            return text
        if code == "v":
            inner = self.read("g")
            if len(_split(inner)) != 1:
                raise Malformed("a variant holds exactly one type")
            self._enter()
            try:
                return inner, self.read(inner)
            finally:
                self.depth -= 1
        if code == "a":
            length = _u32(self.data, self._need(4))
            if length > MAX_MESSAGE:
                raise Malformed("array too large")
            element = kind[1:]
            self.align(_ALIGN[element[0]])
            end = self.offset + length
            if end > len(self.data):
                raise Malformed("array runs past the end of the message")
            if element == "y":
                self.offset = end
                return bytes(self.data[end - length:end])
            items: list = []
            self._enter()
            try:
                while self.offset < end:
                    if len(items) >= MAX_ITEMS:
                        raise Malformed("too many array items")
                    before = self.offset
                    items.append(self.read(element))
                    if self.offset <= before:  # cannot happen for valid types; never loop
                        raise Malformed("array element of no size")
            finally:
                self.depth -= 1
            if self.offset != end:
                raise Malformed("array length does not match its items")
            return items
        if code in "({":
            self._enter()
            try:
                return tuple(self.read_all(kind[1:-1]))
            finally:
                self.depth -= 1
        raise Malformed(f"cannot read type {kind}")

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Malformed("value nested too deeply")
