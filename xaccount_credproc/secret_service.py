"""Read-only fast path to the Secret Service (Linux) for cache hits.

`import keyring` plus its backend discovery costs about 260 ms, ten times a bare interpreter start,
on every `aws` command; even jeepney (keyring's own D-Bus library) costs 30 ms to import. On Linux
keyring's Secret Service backend stores an entry as an item of the default collection with the
attributes {"service", "username"}, its secret being the UTF-8 text. This module reads exactly that
item with a minimal D-Bus client of its own (a Unix socket and `struct`) and gives up, returning
None so the caller asks keyring itself, on anything unexpected: another backend configured for
keyring, no session bus, a locked item, a D-Bus error. It never writes: all writes go through
keyring.

The "plain" transfer algorithm is used: the secret crosses the user's own session-bus socket, which
other users cannot open (the same trust keyring places in that bus for everything else).
"""

import os
import sys

SECRETS = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
KEYRING_SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
TIMEOUT = 2.0


def usable() -> bool:
    """Whether keyring would use its Secret Service backend (as far as can be told cheaply)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
    if chosen is not None:
        return chosen == KEYRING_SECRET_SERVICE
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    # keyring's own config file may name another backend; don't second-guess it.
    return not os.path.exists(os.path.join(config_home, "python_keyring", "keyringrc.cfg"))


def read(service: str, usernames: list[str]) -> list[str | None] | None:
    """The secrets stored by keyring for (service, username) each, None for a missing one.

    Returns None as a whole when the fast path cannot answer with certainty.
    """
    if not usable():
        return None
    try:
        bus = _Bus.session()
    except Exception:
        return None
    if bus is None:
        return None
    try:
        found = []
        for username in usernames:
            (paths,) = bus.call(DEFAULT_COLLECTION, "org.freedesktop.Secret.Collection",
                                "SearchItems", "a{ss}",
                                [[("service", service), ("username", username)]])
            found.append(paths[0] if paths else None)
        wanted = [p for p in found if p]
        if not wanted:
            return [None] * len(usernames)
        for path in wanted:
            ((_, locked),) = bus.call(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                      ["org.freedesktop.Secret.Item", "Locked"])
            if locked:
                return None  # keyring would try to unlock it: let it
        _, session = bus.call(SERVICE_PATH, "org.freedesktop.Secret.Service", "OpenSession",
                              "sv", ["plain", ("s", "")])
        try:
            (secrets,) = bus.call(SERVICE_PATH, "org.freedesktop.Secret.Service", "GetSecrets",
                                  "aoo", [wanted, session])
        finally:
            bus.call(session, "org.freedesktop.Secret.Session", "Close", "", [])
        by_path = dict(secrets)
        out = []
        for path in found:
            if path is None:
                out.append(None)
                continue
            _, parameters, value, _ = by_path[path]
            if parameters:  # an encrypted transfer we did not ask for
                return None
            out.append(value.decode("utf-8"))
        return out
    except Exception:
        return None
    finally:
        bus.close()


# ---------------------------------------------------------------------------------------------
# A minimal D-Bus client: EXTERNAL authentication, method calls, little-endian marshalling of
# the few types the Secret Service calls above use (y b u i s o g a ( ) { } v).


class DBusError(Exception):
    pass


def _unix_socket():
    # `_socket` directly: `socket` pulls in enum and selectors, ~9 ms on every `aws` command.
    try:
        import _socket

        return _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except (ImportError, AttributeError):  # pragma: no cover - other interpreters
        import socket

        return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)


class _Bus:
    def __init__(self, sock):
        self.sock = sock
        self.serial = 0
        self.buffer = b""

    @classmethod
    def session(cls) -> "_Bus | None":
        address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            return None
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
            sock.settimeout(TIMEOUT)
            try:
                sock.connect(target)
                bus = cls(sock)
                bus._authenticate()
                bus.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "", [],
                         destination="org.freedesktop.DBus")
                return bus
            except Exception:
                sock.close()
        return None

    def close(self) -> None:
        self.sock.close()

    def _authenticate(self) -> None:
        uid = str(os.getuid()).encode().hex().encode()
        self.sock.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
        line = self._read_line()
        if not line.startswith(b"OK "):
            raise DBusError("authentication refused")
        self.sock.sendall(b"BEGIN\r\n")

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise DBusError("connection closed")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(max(4096, size - len(self.buffer)))
            if not chunk:
                raise DBusError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def call(self, path, interface, member, signature, args, destination=SECRETS):
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
        while True:
            kind, reply_to, reply_signature, reply_body = self._receive()
            if reply_to != self.serial:
                continue  # a signal (e.g. NameAcquired) or someone else's reply
            if kind == 3:
                raise DBusError(f"{member} failed")
            return _Reader(reply_body).read_all(reply_signature)

    def _receive(self):
        import struct

        fixed = self._read_exactly(16)
        if fixed[:1] != b"l":
            raise DBusError("big-endian messages are not supported")
        body_length, _, fields_length = struct.unpack_from("<III", fixed, 4)
        header_rest = self._read_exactly(fields_length + (-(16 + fields_length) % 8))
        body = self._read_exactly(body_length)
        reader = _Reader(fixed + header_rest, offset=12)
        fields = {code: value for code, (_, value) in reader.read_all("a(yv)")[0]}
        return fixed[1], fields.get(5), fields.get(8, ""), body


def _unescape(value: str) -> str:
    if "%" not in value:
        return value
    from urllib.parse import unquote  # only for escaped addresses, which are rare

    return unquote(value)


_ALIGN = {"y": 1, "b": 4, "u": 4, "i": 4, "s": 4, "o": 4, "g": 1, "a": 4, "(": 8, "{": 8,
          "v": 1}


def _split(signature: str) -> list[str]:
    """Complete types of a signature: 'a{ss}ou' -> ['a{ss}', 'o', 'u']."""
    types, index = [], 0
    while index < len(signature):
        end = _type_end(signature, index)
        types.append(signature[index:end])
        index = end
    return types


def _type_end(signature: str, index: int) -> int:
    char = signature[index]
    if char == "a":
        return _type_end(signature, index + 1)
    if char in "({":
        closing = ")" if char == "(" else "}"
        index += 1
        while signature[index] != closing:
            index = _type_end(signature, index)
        return index + 1
    return index + 1


class _Writer:
    def __init__(self):
        self.data = bytearray()

    def pad(self, alignment: int) -> None:
        self.data += b"\0" * (-len(self.data) % alignment)

    def write_all(self, signature: str, values) -> None:
        for kind, value in zip(_split(signature), values, strict=True):
            self.write(kind, value)

    def write(self, kind: str, value) -> None:
        import struct

        code = kind[0]
        self.pad(_ALIGN[code])
        if code == "y":
            self.data.append(value)
        elif code in "bu":
            self.data += struct.pack("<I", int(value))
        elif code == "i":
            self.data += struct.pack("<i", value)
        elif code in "so":
            encoded = value.encode("utf-8")
            self.data += struct.pack("<I", len(encoded)) + encoded + b"\0"
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
            struct.pack_into("<I", self.data, length_at, len(self.data) - start)
        elif code in "({":
            self.write_all(kind[1:-1], value)
        else:
            raise DBusError(f"cannot write type {kind}")


class _Reader:
    def __init__(self, data: bytes, offset: int = 0):
        self.data = data
        self.offset = offset

    def align(self, alignment: int) -> None:
        self.offset += -self.offset % alignment

    def read_all(self, signature: str) -> list:
        return [self.read(kind) for kind in _split(signature)]

    def read(self, kind: str):
        import struct

        code = kind[0]
        self.align(_ALIGN[code])
        if code == "y":
            self.offset += 1
            return self.data[self.offset - 1]
        if code in "bu":
            (value,) = struct.unpack_from("<I", self.data, self.offset)
            self.offset += 4
            return bool(value) if code == "b" else value
        if code == "i":
            (value,) = struct.unpack_from("<i", self.data, self.offset)
            self.offset += 4
            return value
        if code in "so":
            (length,) = struct.unpack_from("<I", self.data, self.offset)
            start = self.offset + 4
            self.offset = start + length + 1
            return self.data[start:start + length].decode("utf-8")
        if code == "g":
            length = self.data[self.offset]
            start = self.offset + 1
            self.offset = start + length + 1
            return self.data[start:start + length].decode("ascii")
        if code == "v":
            inner = self.read("g")
            return inner, self.read(inner)
        if code == "a":
            (length,) = struct.unpack_from("<I", self.data, self.offset)
            self.offset += 4
            element = kind[1:]
            self.align(_ALIGN[element[0]])
            end = self.offset + length
            if element == "y":
                self.offset = end
                return bytes(self.data[end - length:end])
            items = []
            while self.offset < end:
                items.append(self.read(element))
            return items
        if code in "({":
            return tuple(self.read_all(kind[1:-1]))
        raise DBusError(f"cannot read type {kind}")
