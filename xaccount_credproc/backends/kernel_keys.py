"""The Linux kernel keyring as a store (`KernelKeyringStore`), and one service's entries in it:
writing, eviction, listing, the quota (`KernelKeys`).

(The read side, which a cache hit needs, is keyctl.py.) A key is made in this thread's keyring
first, given its permissions and its timeout, and only then linked into @u: a reader never sees
it half made, the kernel drops it at its expiry by itself, and it stays readable from sessions
whose session keyring does not link @u (keys in @u are then not "possessed", and the kernel's
default permissions would deny reading them).

When the uid's quota is full (EDQUOT) only what is dead anyway makes room: this service's
expired entries, then the entry being replaced. A live entry is never evicted for another: with
the quota nearly full of other programs' keys that would make the cache thrash (an STS call,
maybe an MFA prompt, on every command). What still does not fit is not cached (QuotaFull: one
warning naming the quota and how to raise it). Entries without an expiry (secrets stored for
good, through keyring) are never evicted.
"""

import os

from .keyctl import (
    ALPHABETS,
    EDQUOT,
    EKEYEXPIRED,
    FORMAT,
    GET_KEYRING_ID,
    INVALIDATE,
    KEY_TYPE,
    LINK,
    LITERAL,
    MAX_KEYRING,
    MAX_PAYLOAD,
    PERMISSIONS,
    REFUSALS,
    SEARCH,
    SET_TIMEOUT,
    SETPERM,
    THREAD_KEYRING,
    UNLINK,
    USER_KEYRING,
    KernelKeyringError,
    QuotaFull,
    Refused,
    decode,
    description,
    read_value,
    refused,
    system_calls,
)

MIN_RUN = 16  # base64 characters worth packing (see keyctl.py for the format)
# A kernel key holds up to 32767 bytes: one chunk per entry (Windows needs many, see cache.py).
KERNEL_CHUNK = 16000


def _run(value: str, start: int, alphabet: str) -> int:
    end = start
    while end < len(value) and value[end] in alphabet:
        end += 1
    return end


def _segments(value: str):
    """(tag, text) pieces of `value`, in order."""
    start = index = 0
    while index < len(value):
        runs = [(_run(value, index, alphabet), tag) for tag, alphabet in ALPHABETS.items()]
        end, tag = max(runs)
        if end - index >= MIN_RUN:
            if start < index:
                yield LITERAL, value[start:index]
            yield tag, value[index:end]
            start = index = end
        else:
            index = max(end, index + 1)
    if start < len(value):
        yield LITERAL, value[start:]


def _pack_run(alphabet: str, text: str) -> bytes:
    values = [alphabet.index(c) for c in text]
    values += [0] * (-len(values) % 4)
    out = bytearray()
    for i in range(0, len(values), 4):
        a, b, c, d = values[i:i + 4]
        out += bytes([a | (d & 3) << 6, b | (d >> 2 & 3) << 6, c | (d >> 4) << 6])
    return bytes(out)


def _pack(value: str) -> bytes:
    out = bytearray()
    for tag, text in _segments(value):
        if tag == LITERAL:
            data = text.encode("utf-8")
            for offset in range(0, len(data), 65535):  # lengths are 16-bit
                chunk = data[offset:offset + 65535]
                out += bytes([LITERAL]) + len(chunk).to_bytes(2, "big") + chunk
            continue
        for offset in range(0, len(text), 65532):  # whole groups of 4
            piece = text[offset:offset + 65532]
            out += bytes([tag]) + len(piece).to_bytes(2, "big") + _pack_run(ALPHABETS[tag], piece)
    return bytes(out)


def encode(value: str, expires: int | None) -> bytes:
    payload = FORMAT + b" %d\n" % (expires or 0) + _pack(value)
    if len(payload) > MAX_PAYLOAD:
        raise KernelKeyringError("the value is too large for a kernel key")
    return payload


def kernel_error(error: KernelKeyringError):
    """A StoreError for an error of the kernel keyring (keyctl's classes)."""
    from ..errors import StoreError
    from .store import KEYRING_FIX

    if isinstance(error, QuotaFull):
        return StoreError(str(error), "free some (keyctl show @u) or raise the quota (sysctl "
                          "kernel.keys.maxbytes=100000 kernel.keys.maxkeys=1000), " + KEYRING_FIX)
    if isinstance(error, Refused):
        return StoreError(str(error), "allow add_key and keyctl (e.g. a seccomp profile that "
                          "permits them), start a Secret Service, " + KEYRING_FIX)
    return StoreError(str(error), f"check the kernel keyring ('keyctl show @u'), {KEYRING_FIX}")


class KernelKeyringStore:
    """keyring_backend = "kernel" (or keyring's choice where no Secret Service answers): the
    user keyring, written directly, entries dropped by the kernel at their expiry. A
    SecretStore (store.py); its errors are StoreErrors."""

    def __init__(self, service: str):
        self.keys = KernelKeys(service)
        self._checked = False

    def where(self) -> str:
        return "the kernel keyring (until reboot)"

    def traits(self):
        from .store import Traits

        return Traits(chunk_size=KERNEL_CHUNK, expires=True, volatile=True)

    def describe(self) -> str:
        self._check()
        return "kernel keyring (the user keyring, @u)"

    def _check(self) -> None:
        if not self._checked:
            why_not = available()
            if why_not is not None:
                raise kernel_error(Refused(why_not))
            self._checked = True

    def get_many(self, names: list[str]) -> list[str | None]:
        try:
            return [read_value(self.keys.service, name) for name in names]
        except KernelKeyringError as e:
            raise kernel_error(e) from None

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        self._check()
        try:
            self.keys.set(name, value, expires)
        except KernelKeyringError as e:
            raise kernel_error(e) from None

    def delete(self, name: str) -> bool:
        try:
            return self.keys.delete(name)
        except KernelKeyringError as e:
            raise kernel_error(e) from None


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
        return description(self.service, name)

    def get(self, name: str) -> str | None:
        """See keyctl.read_value."""
        return read_value(self.service, name)

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
                    raise refused(e) from None
                if e.errno != EDQUOT:
                    raise KernelKeyringError(f"the kernel keyring failed writing ({e.strerror})",
                                             e.errno) from None
            if victims is None:
                victims = self.eviction_order(name)
            if not victims:
                raise QuotaFull(self._quota_full_message(), EDQUOT)
            self._evict(victims.pop(0))

    def _write(self, description: bytes, payload: bytes, timeout: int | None) -> None:
        calls = system_calls()
        key = calls.add_key(description, payload, THREAD_KEYRING)
        try:
            calls.keyctl(SETPERM, key, PERMISSIONS)
            if timeout is not None:
                calls.keyctl(SET_TIMEOUT, key, timeout)
            # Displaces an older key with the same description, atomically.
            calls.keyctl(LINK, key, USER_KEYRING)
        finally:
            try:  # noqa: SIM105 - no contextlib import on the hit path's module
                calls.keyctl(UNLINK, key, THREAD_KEYRING)
            except OSError:
                pass

    def _evict(self, entry: "Entry") -> None:
        """Drop `entry`, and wait (up to a second) until the kernel's key collector, which runs
        after an RCU grace period, has returned its bytes to the quota."""
        import time

        before = usage()
        try:
            system_calls().keyctl(UNLINK, entry.key, USER_KEYRING)
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
        expired ones, then the one being replaced. Never another live one, never one without an
        expiry."""
        import time

        now = time.time()
        entries = [e for e in self.entries(include_expired=True) if e.expires is not None
                   and (e.expires <= now or e.name == replacing)]
        return sorted(entries, key=lambda e: (int(e.expires or 0) > now, int(e.expires or 0)))

    def delete(self, name: str) -> bool:
        calls = system_calls()
        try:
            key = calls.keyctl(SEARCH, USER_KEYRING, KEY_TYPE, self._description(name), 0)
        except OSError as e:
            if e.errno in REFUSALS and e.errno != 13:
                raise refused(e) from None
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
                    system_calls().keyctl(UNLINK, entry.key, USER_KEYRING)
                    return True
                except OSError:
                    return False
        return False

    # -- listing -----------------------------------------------------------------------------------

    def entries(self, include_expired: bool = False) -> list[Entry]:
        """This service's entries in @u. Expired ones (the kernel keeps them for a while; they
        still count against the quota) are found through /proc/keys, where it exists."""
        import struct

        calls = system_calls()
        try:
            ids = calls.read(calls.keyctl(GET_KEYRING_ID, USER_KEYRING, 1))
        except OSError as e:
            if e.errno in REFUSALS:
                raise refused(e) from None
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
            found.extend(self._expired(frozenset(expired)))
        return found

    def _expired(self, keys: frozenset[int]) -> list[Entry]:
        """Expired keys among `keys` that are this service's, as /proc/keys describes them."""
        out: list[Entry] = []
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
        """What fills the quota: this service's entries (and what `clear` would free), and the
        rest, other programs' keys."""
        now = usage()
        where = (f" ({now.bytes} of {now.max_bytes} bytes, {now.keys} of {now.max_keys} keys "
                 "in use)" if now else "")
        try:
            ours = self.entries(include_expired=True)
        except (KernelKeyringError, OSError):
            ours = []
        mine = sum(entry.size for entry in ours)
        if not ours:
            return (f"the kernel keyring quota of this user is full{where}, all of it with keys "
                    "of other programs")
        rest = f", other programs' keys the rest ({now.bytes - mine} bytes)" if now else ""
        return (f"the kernel keyring quota of this user is full{where}: {len(ours)} entries of "
                f"xaccount-credproc's own take {mine} bytes ('xaccount-credproc clear --all' "
                f"would free them, at the cost of fetching again){rest}")


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
        system_calls().keyctl(GET_KEYRING_ID, USER_KEYRING, 1)
    except Refused as e:
        return str(e)
    except OSError as e:
        return str(refused(e)) if e.errno in REFUSALS else f"keyctl failed ({e.strerror})"
    return None
