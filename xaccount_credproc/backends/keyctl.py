"""The Linux kernel keyring through direct `add_key`/`keyctl` system calls.

Where no Secret Service answers (SSH sessions, WSL2, servers, CI runners, containers) the kernel's
key retention service still keeps secrets in kernel memory, never on disk, shared by every
session of the same uid through the user keyring (@u). keyring has no backend for it, and
python-keyutils needs a compiler: this module calls libc's `syscall()` through `_ctypes`, the C
module under ctypes. Skipping `ctypes/__init__.py` (its classes, `struct`, the endian module)
saves about 2 ms of the 3 ms `import ctypes` costs; a cache hit then costs two system calls.
benchmarks/hot_path.py measures the whole hit (see README for the figures).

An entry is a key of type "user" in @u, described "SERVICE:NAME". Its payload is
b"xk1 <expiry, epoch seconds, 0 for none>\n" followed by the value's UTF-8, raw-deflated (a role
credential is about 1.2 KB of base64 text, and a non-root uid has 20000 bytes for all its keys).
A key is made in this thread's keyring first, given its permissions and its timeout, and only
then linked into @u: a reader never sees it half made, the kernel drops it at its expiry by
itself, and it stays readable from sessions whose session keyring does not link @u (keys in @u
are then not "possessed", and the kernel's default permissions would deny reading them).

When the uid's quota is full (EDQUOT) this service's own entries make room: expired ones first,
then the entry being replaced, then those that expire soonest. Entries without an expiry (secrets
stored for good, through keyring) are never evicted.
"""

import contextlib
import os
import sys

KEY_TYPE = b"user"
USER_KEYRING = -4
THREAD_KEYRING = -1
FORMAT = b"xk1"
# Possessor and the same uid: view, read, write, search, link, setattr. Group and others: none.
PERMISSIONS = 0x3F3F0000
MAX_PAYLOAD = 32767  # the kernel's limit for a "user" key
MAX_VALUE = 1 << 16  # characters a value may decompress to
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
    machine = os.uname().machine
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
            raise Refused(f"the kernel keyring is not supported on {os.uname().machine}")
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
        self._syscall = Function(_ctypes.dlsym(_ctypes.dlopen(None), "syscall"))
        self._buffer = None

    def _check(self, result: int) -> int:
        if result < 0:
            errno = self._errno()
            raise OSError(errno, os.strerror(errno))
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
        return buffer.raw[:size]

    def read_description(self, key: int) -> tuple[bytes, int, int, int, bytes]:
        """(type, uid, gid, permissions, description) of a key. Raises ValueError if odd."""
        if self._buffer is None:
            self._buffer = self._buffer_type()
        size = self.keyctl(DESCRIBE, key, self._buffer, len(self._buffer))
        text = self._buffer.raw[:min(size, len(self._buffer))].rstrip(b"\0")
        kind, uid, gid, permissions, description = text.split(b";", 4)
        return kind, int(uid), int(gid), int(permissions, 16), description


_calls: _SystemCalls | None = None


def _system() -> _SystemCalls:
    global _calls
    if _calls is None:
        _calls = _SystemCalls()
    return _calls


def _refused(error: OSError) -> Refused:
    name = REFUSALS.get(error.errno, f"errno {error.errno}")
    return Refused(f"the kernel refuses keyctl ({name}; a container's seccomp profile blocks it "
                   "unless allowed)", error.errno)


def encode(value: str, expires: int | None) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = packer.compress(value.encode("utf-8")) + packer.flush()
    payload = FORMAT + b" %d\n" % (expires or 0) + body
    if len(payload) > MAX_PAYLOAD:
        raise KernelKeyringError("the value is too large for a kernel key")
    return payload


def decode(payload: bytes) -> tuple[str, int | None] | None:
    """(value, expiry or None) of an entry; None for anything this module did not write."""
    import zlib

    head, newline, body = payload.partition(b"\n")
    fields = head.split(b" ")
    if not newline or len(fields) != 2 or fields[0] != FORMAT or not fields[1].isdigit():
        return None
    try:
        unpacker = zlib.decompressobj(-15)
        raw = unpacker.decompress(body, MAX_VALUE * 4)
        if unpacker.unconsumed_tail or not unpacker.eof:
            return None
        value = raw.decode("utf-8")
    except (zlib.error, UnicodeDecodeError):
        return None
    return value, (int(fields[1]) or None)


class Entry:
    __slots__ = ("key", "name", "expires", "size")

    def __init__(self, key: int, name: str, expires: int | None, size: int):
        self.key, self.name, self.expires, self.size = key, name, expires, size


class KernelKeys:
    """One service's entries in the user keyring, by name."""

    def __init__(self, service: str):
        self.service = service
        self.prefix = service.encode("utf-8") + b":"

    def _description(self, name: str) -> bytes:
        return self.prefix + name.encode("utf-8")

    # -- reading: the cache-hit path ------------------------------------------------------------

    def get(self, name: str) -> str | None:
        """The stored value; None when there is none (or it expired). "" for an entry that is
        not ours to read (a miss that the next write replaces). Raises Refused."""
        calls = _system()
        try:
            key = calls.keyctl(SEARCH, USER_KEYRING, KEY_TYPE, self._description(name), 0)
            payload = calls.read(key)
        except OSError as e:
            if e.errno in (ENOKEY, EKEYEXPIRED, EKEYREVOKED, 13):
                return None
            if e.errno in REFUSALS:
                raise _refused(e) from None
            raise KernelKeyringError(f"the kernel keyring failed reading ({e.strerror})",
                                     e.errno) from None
        decoded = decode(payload)
        return "" if decoded is None else decoded[0]

    def get_many(self, names: list[str]) -> list[str | None]:
        return [self.get(name) for name in names]

    # -- writing ----------------------------------------------------------------------------------

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        """Store `value`; with `expires` (epoch seconds) the kernel drops it then.
        Raises QuotaFull when it does not fit even after evictions, Refused, KernelKeyringError."""
        import time

        description = self._description(name)
        payload = encode(value, expires)
        victims = None
        while True:
            timeout = None if expires is None else max(1, int(expires - time.time()))
            try:
                self._write(description, payload, timeout)
                return
            except OSError as e:
                if e.errno in REFUSALS:
                    raise _refused(e) from None
                if e.errno != EDQUOT:
                    raise KernelKeyringError(f"the kernel keyring failed writing ({e.strerror})",
                                             e.errno) from None
            if victims is None:
                victims = self.eviction_order(name)
            if not victims:
                raise QuotaFull(self._quota_full_message(), EDQUOT)
            self._evict(victims.pop(0))

    def _write(self, description: bytes, payload: bytes, timeout: int | None) -> None:
        calls = _system()
        key = calls.add_key(description, payload, THREAD_KEYRING)
        try:
            calls.keyctl(SETPERM, key, PERMISSIONS)
            if timeout is not None:
                calls.keyctl(SET_TIMEOUT, key, timeout)
            # Displaces an older key with the same description, atomically.
            calls.keyctl(LINK, key, USER_KEYRING)
        finally:
            with contextlib.suppress(OSError):
                calls.keyctl(UNLINK, key, THREAD_KEYRING)

    def _evict(self, entry: "Entry") -> None:
        """Drop `entry`, and wait (up to a second) until the kernel's key collector, which runs
        after an RCU grace period, has returned its bytes to the quota."""
        import time

        before = usage()
        try:
            _system().keyctl(UNLINK, entry.key, USER_KEYRING)
        except OSError:
            return
        deadline = time.monotonic() + 1.0
        while before is not None and time.monotonic() < deadline:
            now = usage()
            if now is None or now.bytes <= before.bytes - entry.size:
                return
            time.sleep(0.01)

    def eviction_order(self, replacing: str | None = None) -> list["Entry"]:
        """This service's entries that may be dropped to make room, the first to go first:
        expired ones, the one being replaced, then by expiry. Never one without an expiry."""
        import time

        now = time.time()
        entries = [e for e in self.entries(include_expired=True) if e.expires is not None]
        return sorted(entries, key=lambda e: (e.expires > now, e.name != replacing, e.expires))

    def delete(self, name: str) -> bool:
        calls = _system()
        try:
            key = calls.keyctl(SEARCH, USER_KEYRING, KEY_TYPE, self._description(name), 0)
        except OSError as e:
            if e.errno in REFUSALS and e.errno != 13:
                raise _refused(e) from None
            if e.errno == EKEYEXPIRED:
                return self._unlink_expired(name)
            return False
        try:
            calls.keyctl(INVALIDATE, key)
        except OSError:
            try:
                calls.keyctl(UNLINK, key, USER_KEYRING)
            except OSError:
                return False
        return True

    def _unlink_expired(self, name: str) -> bool:
        for entry in self.entries(include_expired=True):
            if entry.name == name:
                try:
                    _system().keyctl(UNLINK, entry.key, USER_KEYRING)
                    return True
                except OSError:
                    return False
        return False

    # -- listing -----------------------------------------------------------------------------------

    def entries(self, include_expired: bool = False) -> list[Entry]:
        """This service's entries in @u. Expired ones (the kernel keeps them for a while; they
        still count against the quota) are found through /proc/keys, where it exists."""
        import struct

        calls = _system()
        try:
            ids = calls.read(calls.keyctl(GET_KEYRING_ID, USER_KEYRING, 1))
        except OSError as e:
            if e.errno in REFUSALS:
                raise _refused(e) from None
            raise KernelKeyringError(f"the kernel keyring failed listing ({e.strerror})",
                                     e.errno) from None
        found, expired = [], []
        for key in struct.unpack(f"{len(ids) // 4}i", ids[:len(ids) // 4 * 4]):
            try:
                kind, uid, _, _, description = calls.read_description(key)
            except OSError as e:
                if e.errno == EKEYEXPIRED:
                    expired.append(key)
                continue
            except ValueError:
                continue
            if kind != KEY_TYPE or uid != os.getuid() or not description.startswith(self.prefix):
                continue
            try:
                payload = calls.read(key)
            except OSError as e:
                if e.errno == EKEYEXPIRED:
                    expired.append(key)
                continue
            decoded = decode(payload)
            found.append(Entry(key, description[len(self.prefix):].decode("utf-8", "replace"),
                               decoded[1] if decoded else None, len(payload) + len(description)
                               + 1))
        if include_expired and expired:
            found.extend(self._expired(set(expired)))
        return found

    def _expired(self, keys: "set[int]") -> list[Entry]:
        """Expired keys among `keys` that are this service's, as /proc/keys describes them."""
        out = []
        try:
            with open("/proc/keys", "rb") as listing:
                lines = listing.read(MAX_KEYRING * 4).splitlines()
        except OSError:
            return out
        for line in lines:
            fields = line.split(None, 8)
            if len(fields) < 9 or fields[3] != b"expd" or fields[7] != KEY_TYPE:
                continue
            try:
                key = int(fields[0], 16)
            except ValueError:
                continue
            description, _, length = fields[8].rpartition(b": ")  # a user key: payload size
            if key in keys and int(fields[5]) == os.getuid() and description.startswith(
                    self.prefix):
                size = int(length) if length.isdigit() else 0
                out.append(Entry(key, description[len(self.prefix):].decode("utf-8", "replace"),
                                 0, size + len(description) + 1))
        return out

    def _quota_full_message(self) -> str:
        now = usage()
        where = (f" ({now.bytes} of {now.max_bytes} bytes, {now.keys} of {now.max_keys} keys "
                 "in use)" if now else "")
        return f"the kernel keyring quota of this user is full{where}, with keys of other programs"


class Usage:
    __slots__ = ("keys", "max_keys", "bytes", "max_bytes")

    def __init__(self, keys: int, max_keys: int, used: int, max_bytes: int):
        self.keys, self.max_keys, self.bytes, self.max_bytes = keys, max_keys, used, max_bytes


def usage(uid: int | None = None) -> Usage | None:
    """The uid's key quota in use, from /proc/key-users (None where it cannot be read)."""
    uid = os.getuid() if uid is None else uid
    try:
        with open("/proc/key-users", "rb") as listing:
            lines = listing.read(1 << 20).splitlines()
    except OSError:
        return None
    for line in lines:
        head, _, rest = line.partition(b":")
        if head.strip() != str(uid).encode():
            continue
        fields = rest.split()
        try:
            keys, max_keys = map(int, fields[2].split(b"/"))
            used, max_bytes = map(int, fields[3].split(b"/"))
        except (IndexError, ValueError):
            return None
        return Usage(keys, max_keys, used, max_bytes)
    # A uid that holds no key yet is not listed: nothing used, the configured limits.
    limits = []
    for name in ("maxkeys", "maxbytes"):
        try:
            with open(f"/proc/sys/kernel/keys/{'root_' if uid == 0 else ''}{name}") as f:
                limits.append(int(f.read().strip()))
        except (OSError, ValueError):
            return None
    return Usage(0, limits[0], 0, limits[1])


def available() -> str | None:
    """None when the kernel keyring can be used here, else why not (one phrase)."""
    try:
        _system().keyctl(GET_KEYRING_ID, USER_KEYRING, 1)
    except Refused as e:
        return str(e)
    except OSError as e:
        return str(_refused(e)) if e.errno in REFUSALS else f"keyctl failed ({e.strerror})"
    return None
