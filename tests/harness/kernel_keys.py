"""The real Linux kernel keyring, seen from the tests: what this tool keeps there (from
/proc/keys, which shows timeouts and permissions), clean-up, and a seccomp filter that makes the
kernel refuse keyctl the way Docker's default profile does.

Written with ctypes on purpose (not with the code under test), so a bug there cannot hide itself.
"""

import contextlib
import ctypes
import errno
import os
import struct

from xaccount_credproc.backends.keyctl import SYSCALLS, _machine

SERVICE_PREFIX = "xaccount-credproc:"
ADD_KEY, KEYCTL = SYSCALLS[_machine()]
USER_KEYRING = -4
KEYCTL_UNLINK, KEYCTL_READ, KEYCTL_INVALIDATE = 9, 11, 21

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _keyctl(*args) -> int:
    result = _libc.syscall(ctypes.c_long(KEYCTL), *(
        ctypes.c_long(a) if isinstance(a, int) else a for a in args))
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


# /proc/keys state flags of a key that is gone for every purpose but still listed: the kernel
# removes keys asynchronously (its key garbage collector), so a key just invalidated, revoked or
# dead keeps its line for a while; a test reading the listing right after a delete must not
# count it.
GONE_FLAGS = ("i", "R", "D")


class Key:
    def __init__(self, line: str):
        fields = line.split(None, 8)
        self.id = int(fields[0], 16)
        self.flags = fields[1]  # "I--Q---": instantiated, revoked, dead, quota, ..., invalidated
        self.timeout = fields[3]  # "perm", "expd", or time left: "59m", "11h", "42s"
        self.permissions = int(fields[4], 16)
        self.uid = int(fields[5])
        self.type = fields[7]
        self.description, _, self.summary = fields[8].rpartition(": ")

    def __repr__(self) -> str:
        return f"Key({self.description!r}, timeout={self.timeout})"


def keys(uid: int | None = None) -> list[Key]:
    """Every live key /proc/keys shows this process (keys of `uid`, default ours): not those
    waiting for the garbage collector (GONE_FLAGS)."""
    uid = os.getuid() if uid is None else uid
    with open("/proc/keys") as listing:
        found = [Key(line) for line in listing.read().splitlines() if line.strip()]
    return [k for k in found if k.uid == uid and not any(f in k.flags for f in GONE_FLAGS)]


def ours(uid: int | None = None) -> list[Key]:
    """This tool's entries (any service name starting with xaccount-credproc)."""
    return [k for k in keys(uid) if k.type == "user"
            and k.description.startswith(SERVICE_PREFIX.rstrip(":"))]


def user_keyring_ids() -> list[int]:
    buffer = ctypes.create_string_buffer(65536)
    size = _keyctl(KEYCTL_READ, USER_KEYRING, buffer, len(buffer))
    return list(struct.unpack(f"{size // 4}i", buffer.raw[:size]))


def read_payload(key_id: int) -> bytes:
    buffer = ctypes.create_string_buffer(40000)
    size = _keyctl(KEYCTL_READ, key_id, buffer, len(buffer))
    return buffer.raw[:size]


def remove(key_ids) -> None:
    for key_id in key_ids:
        try:
            _keyctl(KEYCTL_INVALIDATE, key_id)
        except OSError:
            with contextlib.suppress(OSError):
                _keyctl(KEYCTL_UNLINK, key_id, USER_KEYRING)


# -- seccomp ---------------------------------------------------------------------------------

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
SECCOMP_DATA_NR = 0
SYS_SECCOMP = {"x86_64": 317, "aarch64": 277, "riscv64": 277}


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def refuse_keyctl(code: int = errno.EPERM):
    """A preexec_fn: the child and everything it runs get `code` from add_key, keyctl and
    request_key, as in a container whose seccomp profile does not allow them."""
    request_key = ADD_KEY + 1  # add_key, request_key and keyctl are consecutive everywhere
    instructions = [
        _Filter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),
        _Filter(BPF_JEQ_K, 3, 0, ADD_KEY),
        _Filter(BPF_JEQ_K, 2, 0, request_key),
        _Filter(BPF_JEQ_K, 1, 0, KEYCTL),
        _Filter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        _Filter(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | code),
    ]
    array = (_Filter * len(instructions))(*instructions)
    program = _Program(len(instructions), ctypes.cast(array, ctypes.POINTER(_Filter)))
    number = SYS_SECCOMP[_machine()]

    def install():
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            os._exit(121)
        if _libc.syscall(ctypes.c_long(number), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                         ctypes.c_long(0), ctypes.byref(program)) != 0:
            os._exit(122)

    return install


# -- what a test made ------------------------------------------------------------------------


def value_of(key_id: int) -> str:
    """An entry's value as this tool wrote it ("" when it cannot be read or is not ours)."""
    from xaccount_credproc.backends.keyctl import decode

    try:
        decoded = decode(read_payload(key_id))
    except OSError:
        return ""
    return decoded[0] if decoded else ""


class MadeHere:
    """This tool's kernel-keyring entries made since `MadeHere()` (entries that were there
    before, e.g. a developer's own, are neither counted nor touched); with `belongs(key)`, only
    those of one test, in a keyring other tests write at the same time."""

    def __init__(self, belongs=None):
        self.before = {key.id for key in ours()} if os.path.exists("/proc/keys") else set()
        self.belongs = belongs

    def ours(self):
        return [key for key in ours() if key.id not in self.before
                and (self.belongs is None or self.belongs(key))]

    def remove(self):
        remove(key.id for key in self.ours())


def of_world(world, vault_id=None):
    """`belongs` for MadeHere: the entries a world's commands made (in a keyring other tests
    write at the same time): credentials its STS issued, records of its device's codes, its
    vault's key. Stored sources' keys are nobody's in particular: a test that keeps them in the
    kernel keyring takes it for itself (conftest's kernel_keys_made_here)."""
    def vault() -> str | None:
        try:
            return vault_id() if vault_id is not None else None
        except (OSError, ValueError, KeyError):
            return None  # no vault (yet, or any more)

    def belongs(key) -> bool:
        name = key.description.split(":", 1)[-1]
        if name.startswith("vault-key/"):
            return name == f"vault-key/{vault()}"
        value = value_of(key.id)
        if name.startswith("mfa-code/"):  # this test's devices' codes, not the session's
            codes = {c for device in list(world.sts.devices.values()) for c in device.accepted}
            return bool(codes & set(value.split(" ")))
        return bool(set(world.sts.keys) & set(value.split("\n")))

    return belongs
