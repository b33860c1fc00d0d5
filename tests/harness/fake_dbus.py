"""A stand-in D-Bus peer on a Unix socket that answers the bus's own calls correctly and every
other call with one chosen kind of malformed reply: what a hostile or broken peer could send.

It speaks just enough of the protocol (the SASL handshake, little-endian messages) and builds
its replies by hand with `struct`, so that it can send what a correct marshaller never would.
"""

import os
import socket
import struct
import threading
import time

BUS = "org.freedesktop.DBus"
OWNER = ":1.1"

MODES = ("huge-length", "empty-struct", "empty-dict", "wrong-sender", "garbage", "silent",
         "trickle", "endless-signals", "deep-nesting")


def _pad(data: bytearray, alignment: int) -> None:
    data += b"\0" * (-len(data) % alignment)


def _string(data: bytearray, text: str) -> None:
    _pad(data, 4)
    encoded = text.encode()
    data += struct.pack("<I", len(encoded)) + encoded + b"\0"


def _signature(data: bytearray, text: str) -> None:
    encoded = text.encode()
    data += bytes([len(encoded)]) + encoded + b"\0"


def message(kind: int, serial: int, reply_to: int | None, sender: str | None, signature: str,
            body: bytes, body_length: int | None = None) -> bytes:
    """A little-endian message; `body_length` may lie about the body's size."""
    fields = bytearray()
    def field(code: int, sig: str, write):
        _pad(fields, 8)
        fields.append(code)
        _signature(fields, sig)
        write()
    if reply_to is not None:
        field(5, "u", lambda: (_pad(fields, 4), fields.extend(struct.pack("<I", reply_to))))
    if sender is not None:
        field(7, "s", lambda: _string(fields, sender))
    if signature:
        field(8, "g", lambda: _signature(fields, signature))
    if kind == 4:
        field(1, "o", lambda: _string(fields, "/org/example"))
        field(2, "s", lambda: _string(fields, "org.example.Noise"))
        field(3, "s", lambda: _string(fields, "Ping"))
    head = bytearray(b"l" + bytes([kind, 0, 1]))
    head += struct.pack("<III", len(body) if body_length is None else body_length, serial,
                        len(fields))
    head += fields
    _pad(head, 8)
    return bytes(head) + body


def _string_body(text: str) -> bytes:
    data = bytearray()
    _string(data, text)
    return bytes(data)


class FakeBus:
    def __init__(self, directory: str, mode: str):
        assert mode in MODES, mode
        self.mode = mode
        self.path = os.path.join(directory, f"fake-bus-{mode}")
        self.address = f"unix:path={self.path}"
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.stopping = False
        self.calls: list[str] = []  # members called, in order
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        self.server.close()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn) -> None:
        conn.settimeout(60)
        buffer = b""
        try:
            # SASL: lines until BEGIN.
            while True:
                while b"\r\n" not in buffer:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                line, _, buffer = buffer.partition(b"\r\n")
                line = line.lstrip(b"\0")
                if line.startswith(b"AUTH"):
                    conn.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
                elif line.startswith(b"NEGOTIATE_UNIX_FD"):
                    conn.sendall(b"ERROR\r\n")
                elif line.startswith(b"BEGIN"):
                    break
            serial = 100
            while True:
                while len(buffer) < 16:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body_length, call_serial, fields_length = struct.unpack_from("<III", buffer, 4)
                total = 16 + fields_length + (-(16 + fields_length) % 8) + body_length
                while len(buffer) < total:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                raw, buffer = buffer[:total], buffer[total:]
                member = _member(raw[16:16 + fields_length])
                self.calls.append(member)
                serial += 1
                if member in ("Hello", "GetNameOwner", "AddMatch", "NameHasOwner"):
                    conn.sendall(self._bus_reply(member, serial, call_serial))
                else:
                    self._misbehave(conn, serial, call_serial)
        except OSError:
            return
        finally:
            conn.close()

    def _bus_reply(self, member: str, serial: int, reply_to: int) -> bytes:
        if member == "Hello":
            return message(2, serial, reply_to, BUS, "s", _string_body(":1.42"))
        if member == "GetNameOwner":
            return message(2, serial, reply_to, BUS, "s", _string_body(OWNER))
        if member == "NameHasOwner":
            return message(2, serial, reply_to, BUS, "b", struct.pack("<I", 1))
        return message(2, serial, reply_to, BUS, "", b"")

    def _misbehave(self, conn, serial: int, reply_to: int) -> None:
        mode = self.mode
        if mode == "huge-length":
            conn.sendall(message(2, serial, reply_to, OWNER, "ao", b"", body_length=0xFFFFFFF0))
        elif mode == "empty-struct":
            conn.sendall(message(2, serial, reply_to, OWNER, "a()",
                                 struct.pack("<I", 64) + b"\0" * 4 + b"\0" * 64))
        elif mode == "empty-dict":
            conn.sendall(message(2, serial, reply_to, OWNER, "a{}",
                                 struct.pack("<I", 64) + b"\0" * 4 + b"\0" * 64))
        elif mode == "wrong-sender":
            body = struct.pack("<I", 0)  # an empty "ao": nothing found, the answer we'd like
            conn.sendall(message(2, serial, reply_to, ":1.666", "ao", body))
        elif mode == "garbage":
            conn.sendall(os.urandom(4096))
        elif mode == "silent":
            time.sleep(60)
        elif mode == "trickle":
            reply = message(2, serial, reply_to, OWNER, "ao", struct.pack("<I", 0))
            for byte in reply[:-1]:
                conn.sendall(bytes([byte]))
                time.sleep(0.3)
        elif mode == "endless-signals":
            while True:
                serial += 1
                conn.sendall(message(4, serial, None, OWNER, "", b""))
        elif mode == "deep-nesting":
            signature = "a" * 40 + "o"
            conn.sendall(message(2, serial, reply_to, OWNER, signature,
                                 struct.pack("<I", 0)))


def _member(fields: bytes) -> str:
    """The MEMBER header field of a call (code 3), found by a plain scan."""
    index = 0
    while index + 4 <= len(fields):
        index += -index % 8
        if index >= len(fields):
            break
        code = fields[index]
        sig_len = fields[index + 1]
        sig = fields[index + 2:index + 2 + sig_len].decode()
        index += 3 + sig_len
        if sig in ("s", "o"):
            index += -index % 4
            (length,) = struct.unpack_from("<I", fields, index)
            value = fields[index + 4:index + 4 + length].decode()
            index += 5 + length
        elif sig == "g":
            length = fields[index]
            value = fields[index + 1:index + 1 + length].decode()
            index += 2 + length
        elif sig == "u":
            index += -index % 4
            value = ""
            index += 4
        else:
            return "?"
        if code == 3:
            return value
    return "?"
