"""The Linux kernel keyring through direct `add_key`/`keyctl` system calls: the read side.

Where no Secret Service answers (SSH sessions, WSL2, servers, CI runners, containers) the kernel's
key retention service still keeps secrets in kernel memory, never on disk, shared by every
session of the same uid through the user keyring (@u). keyring has no backend for it, and
python-keyutils needs a compiler: this module calls libc's `syscall()` through `_ctypes`, the C
module under ctypes. Skipping `ctypes/__init__.py` (its classes, `struct`, the endian module)
saves about 2 ms of the 3 ms `import ctypes` costs; a cache hit then costs two system calls.
benchmarks/hot_path.py measures the whole hit (see README for the figures).

An entry is a key of type "user" in @u, described "SERVICE:NAME". Its payload is
b"xk2 <expiry, epoch seconds, 0 for none>\n" followed by the value, its base64 runs packed at 6
bits a character (a role credential is about 1.2 KB of base64 text, and a non-root uid has 20000
bytes for all its keys).
This module holds what a cache hit needs (the system calls, `read_value`, the payload decoder);
writing, eviction and listing are in kernel_keys.py, loaded only on a miss.
"""

import sys

try:  # the POSIX calls without `os` (2 ms of import on a hit); this module is Linux's only
    import posix
except ImportError:  # pragma: no cover - Windows: Refused before any call
    posix = None  # type: ignore[assignment]

KEY_TYPE = b"user"
USER_KEYRING = -4
THREAD_KEYRING = -1
FORMAT = b"xk2"
# Possessor and the same uid: view, read, write, search, link, setattr. Group and others: none.
PERMISSIONS = 0x3F3F0000
MAX_PAYLOAD = 32767  # the kernel's limit for a "user" key
MAX_KEYRING = 1 << 20  # bytes of key IDs read from @u

# keyctl(2) operations
GET_KEYRING_ID, SETPERM, DESCRIBE, LINK, UNLINK, SEARCH, READ, SET_TIMEOUT, INVALIDATE = (
    0, 5, 6, 8, 9, 10, 11, 15, 21)
ENOKEY, EKEYEXPIRED, EKEYREVOKED, EDQUOT = 126, 127, 128, 122
REFUSALS = {1: "EPERM", 13: "EACCES", 38: "ENOSYS"}  # seccomp profiles answer EPERM or ENOSYS

# (add_key, keyctl) system call numbers by machine (`uname -m`).
SYSCALLS = {
    "x86_64": (248, 250), "i386": (286, 288), "i686": (286, 288),
    "aarch64": (217, 219), "riscv64": (217, 219), "loongarch64": (217, 219),
    "armv7l": (309, 311), "armv6l": (309, 311), "armv8l": (309, 311),
    "ppc64le": (269, 271), "ppc64": (269, 271), "s390x": (278, 280),
}


class KernelKeyringError(Exception):
    def __init__(self, what: str, errno: int | None = None):
        super().__init__(what)
        self.errno = errno


class Refused(KernelKeyringError):
    """The kernel will not let this process use keys (seccomp, no CONFIG_KEYS, another OS)."""


class QuotaFull(KernelKeyringError):
    """The uid's key quota is full even after this service's evictable entries were dropped."""


def _machine() -> str:
    machine = posix.uname().machine
    if sys.maxsize <= 2**32:  # a 32-bit interpreter on a 64-bit kernel uses the 32-bit table
        machine = {"x86_64": "i686", "aarch64": "armv7l"}.get(machine, machine)
    return machine


class _SystemCalls:
    """`add_key` and `keyctl`, each returning a non-negative result or raising OSError."""

    def __init__(self):
        if not sys.platform.startswith("linux"):
            raise Refused("the kernel keyring exists only on Linux")
        numbers = SYSCALLS.get(_machine())
        if numbers is None:
            raise Refused(f"the kernel keyring is not supported on {posix.uname().machine}")
        self.add_key_number, self.keyctl_number = numbers
        import _ctypes

        class Long(_ctypes._SimpleCData):
            _type_ = "l"

        class Char(_ctypes._SimpleCData):
            _type_ = "c"

        class Buffer(_ctypes.Array):
            _type_ = Char
            _length_ = MAX_PAYLOAD + 1

        class Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = Long

        self._long, self._buffer_type, self._errno = Long, Buffer, _ctypes.get_errno
        this_process = _ctypes.dlopen(None)  # type: ignore[arg-type]  # dlopen(NULL)
        self._syscall = Function(_ctypes.dlsym(this_process, "syscall"))
        self._buffer = None

    def _check(self, result: int) -> int:
        if result < 0:
            errno = self._errno()
            raise OSError(errno, posix.strerror(errno))
        return result

    def add_key(self, description: bytes, payload: bytes, keyring: int) -> int:
        n = self._long
        return self._check(self._syscall(n(self.add_key_number), KEY_TYPE, description, payload,
                                         n(len(payload)), n(keyring)))

    def keyctl(self, operation: int, *args) -> int:
        n = self._long
        return self._check(self._syscall(n(self.keyctl_number), n(operation),
                                         *(n(a) if isinstance(a, int) else a for a in args)))

    def read(self, key: int) -> bytes:
        """The payload of a key (or the key IDs of a keyring), whole."""
        if self._buffer is None:
            self._buffer = self._buffer_type()
        size = self.keyctl(READ, key, self._buffer, len(self._buffer))
        if size <= len(self._buffer):
            return self._buffer.raw[:size]
        if size > MAX_KEYRING:
            raise OSError(7, "key too large")  # E2BIG
        import _ctypes

        class Bigger(_ctypes.Array):
            _type_ = self._buffer_type._type_
            _length_ = size

        buffer = Bigger()
        size = self.keyctl(READ, key, buffer, size)
        return bytes(memoryview(buffer))[:size]  # .raw, without tripping mypy's ctypes plugin

    def read_description(self, key: int) -> tuple[bytes, int, int, int, bytes]:
        """(type, uid, gid, permissions, description) of a key. Raises ValueError if odd."""
        if self._buffer is None:
            self._buffer = self._buffer_type()
        size = self.keyctl(DESCRIBE, key, self._buffer, len(self._buffer))
        text = self._buffer.raw[:min(size, len(self._buffer))].rstrip(b"\0")
        kind, uid, gid, permissions, description = text.split(b";", 4)
        return kind, int(uid), int(gid), int(permissions, 16), description


_calls: _SystemCalls | None = None


def system_calls() -> _SystemCalls:
    global _calls
    if _calls is None:
        _calls = _SystemCalls()
    return _calls


def refused(error: OSError) -> Refused:
    name = REFUSALS.get(error.errno or 0, f"errno {error.errno}")
    return Refused(f"the kernel refuses keyctl ({name}; a container's seccomp profile blocks it "
                   "unless allowed)", error.errno)


# Base64 text (secret keys, session tokens) is stored at 6 bits a character: a run of at least
# kernel_keys.MIN_RUN characters of one base64 alphabet (standard, or URL-safe) becomes its tag + its length
# (2 bytes) + the packed bits; other text is LITERAL + its UTF-8 length (2 bytes) + the bytes.
# Four characters a, b, c, d (6-bit values) go into three bytes as a|d0<<6, b|d1<<6, c|d2<<6
# (d0..d2: d's three 2-bit pieces), so that unpacking is a handful of C-speed bytes operations
# (translate, slices, one big-int sum): about 20 us for a session token. zlib would pack as well
# but costs half a millisecond to import on every cache hit.
STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
URL_SAFE = STANDARD[:62] + "-_"
LITERAL, PACKED, PACKED_URL_SAFE = 0, 1, 2
ALPHABETS = {PACKED: STANDARD, PACKED_URL_SAFE: URL_SAFE}
HIGH_BITS = bytes(64) + b"\x01" * 64 + b"\x02" * 64 + b"\x03" * 64  # a byte's top 2 bits


def _unpack_run(alphabet: str, data: bytes, length: int) -> str:
    symbols = alphabet.encode("ascii")
    low_table = symbols * 4  # byte -> the symbol of its low 6 bits
    groups = len(data) // 3
    d = (int.from_bytes(data[0::3].translate(HIGH_BITS), "big")
         + (int.from_bytes(data[1::3].translate(HIGH_BITS), "big") << 2)
         + (int.from_bytes(data[2::3].translate(HIGH_BITS), "big") << 4))
    out = bytearray(groups * 4)
    lows = data.translate(low_table)
    out[0::4], out[1::4], out[2::4] = lows[0::3], lows[1::3], lows[2::3]
    out[3::4] = d.to_bytes(groups, "big").translate(symbols + bytes(192))
    return out[:length].decode("ascii")


def _unpack(body: bytes) -> str | None:
    parts, index = [], 0
    while index < len(body):
        if index + 3 > len(body):
            return None
        kind, length = body[index], int.from_bytes(body[index + 1:index + 3], "big")
        index += 3
        size = length if kind == LITERAL else (length + 3) // 4 * 3
        data = body[index:index + size]
        index += size
        if len(data) != size:
            return None
        if kind == LITERAL:
            parts.append(data.decode("utf-8"))  # UnicodeDecodeError: the caller's miss
        elif kind in ALPHABETS:
            parts.append(_unpack_run(ALPHABETS[kind], data, length))
        else:
            return None
    return "".join(parts)


def decode(payload: bytes) -> tuple[str, int | None] | None:
    """(value, expiry or None) of an entry; None for anything this module did not write."""
    head, newline, body = payload.partition(b"\n")
    fields = head.split(b" ")
    if not newline or len(fields) != 2 or fields[0] != FORMAT or not fields[1].isdigit():
        return None
    try:
        value = _unpack(body)
    except UnicodeDecodeError:
        return None
    if value is None:
        return None
    return value, (int(fields[1]) or None)


def read_value(service: str, name: str) -> str | None:
    """The value stored for (service, name); None when there is none (or it expired), "" for
    an entry that is not ours to read (a miss that the next write replaces). Raises Refused and
    KernelKeyringError."""
    calls = system_calls()
    try:
        key = calls.keyctl(SEARCH, USER_KEYRING, KEY_TYPE, description(service, name), 0)
        payload = calls.read(key)
    except OSError as e:
        if e.errno in (ENOKEY, EKEYEXPIRED, EKEYREVOKED, 13):
            return None
        if e.errno in REFUSALS:
            raise refused(e) from None
        raise KernelKeyringError(f"the kernel keyring failed reading ({e.strerror})",
                                 e.errno) from None
    decoded = decode(payload)
    return "" if decoded is None else decoded[0]


def description(service: str, name: str) -> bytes:
    return service.encode("utf-8") + b":" + name.encode("utf-8")
