"""The vault: long-term keys in one encrypted file, for machines with no desktop keyring (WSL2,
SSH hosts, servers, CI runners), where the kernel keyring alone would forget them at reboot.

One JSON file (0600, in a 0700 directory under the user's data dir):

    {"format": "xaccount-credproc vault", "version": 1, "id": "<random>",
     "kdf": {"name": "argon2id", "salt": B64, "memory_kib": N, "iterations": N, "lanes": 1},
     "check": B64, "entries": {"source/dev": B64, ...}}

The key is derived from a passphrase with Argon2id (memory-hard; its parameters are in the
file). Each value is AES-256-GCM, a fresh 96-bit nonce per write (`nonce || ciphertext+tag`),
with associated data binding it to the file's header and to its entry's name: an entry moved
under another name, or a header changed, fails to decrypt. `check` is a fixed text sealed the
same way: it tells a wrong passphrase (or a changed header) before any entry is read.

Every change rewrites the whole file: a temp file in the same directory, fsync, rename, then an
fsync of the directory, under a lock; a kill at any moment leaves the old file or the new one.
Nothing here asks for a passphrase: `VaultStore` is given a function that returns the key (see
credentials/stored/), and a derived key is never written to a file.
"""

import base64
import contextlib
import json
import os
import secrets

from .. import files
from ..errors import StoreError
from .store import DURABLE, Traits

FORMAT = "xaccount-credproc vault"
VERSION = 1
FILE_NAME = "vault.json"
MAX_SIZE = 1 << 20
# Argon2id here: 128 MiB, 5 passes ≈ 0.5 s on the 2-core machine the tests run on (README).
KDF = {"name": "argon2id", "memory_kib": 128 * 1024, "iterations": 5, "lanes": 1}
MIN_MEMORY_KIB = 64 * 1024
CHECK_TEXT = b"xaccount-credproc vault check"
LOCK_TIMEOUT = 60.0


class VaultError(StoreError):
    """The vault file is missing, damaged, from a newer version, or cannot be written."""


class WrongKey(VaultError):
    """The passphrase (or the cached key) does not open this vault."""


def default_path() -> str:
    base = os.environ.get("XDG_DATA_HOME")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, files.APP, FILE_NAME)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text, path: str, what: str) -> bytes:
    try:
        if not isinstance(text, str):
            raise ValueError
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise damaged(path, f"{what} is not base64") from None


def damaged(path: str, why: str) -> VaultError:
    return VaultError(f"the vault file {path} is damaged ({why}); nothing was changed",
                      "restore it from a backup, or start again with 'xaccount-credproc vault "
                      "reset' (the keys in it are then lost: store them again)")


def derive(passphrase: str, kdf: dict) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    return Argon2id(salt=base64.b64decode(kdf["salt"]), length=32,
                    iterations=kdf["iterations"], lanes=kdf["lanes"],
                    memory_cost=kdf["memory_kib"]).derive(passphrase.encode("utf-8"))


class VaultFile:
    """The vault file's content, parsed and checked for shape (not yet for the key)."""

    def __init__(self, path: str, header: dict, check: bytes, entries: dict[str, bytes]):
        self.path = path
        self.header = header  # format, version, id, kdf
        self.check = check
        self.entries = entries

    @property
    def id(self) -> str:
        return self.header["id"]

    def _aad(self, purpose: str) -> bytes:
        return json.dumps(self.header, sort_keys=True, separators=(",", ":")).encode() + \
            b"\0" + purpose.encode()

    # -- sealing -----------------------------------------------------------------------------

    def _seal(self, key: bytes, data: bytes, purpose: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(key).encrypt(nonce, data, self._aad(purpose))

    def _open(self, key: bytes, sealed: bytes, purpose: str) -> bytes | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(sealed) < 12 + 16:
            return None
        try:
            return AESGCM(key).decrypt(sealed[:12], sealed[12:], self._aad(purpose))
        except InvalidTag:
            return None

    def verify(self, key: bytes) -> None:
        """Raises WrongKey unless `key` opens this vault."""
        if self._open(key, self.check, "check") != CHECK_TEXT:
            raise WrongKey(f"the passphrase does not open the vault {self.path} (or its header "
                           "was changed)", "type it again; a lost passphrase cannot be "
                           "recovered: 'xaccount-credproc vault reset' starts a new vault")

    def get(self, key: bytes, name: str) -> str | None:
        sealed = self.entries.get(name)
        if sealed is None:
            return None
        plain = self._open(key, sealed, "entry\0" + name)
        if plain is None:
            raise VaultError(f"the entry '{name}' of the vault file {self.path} fails its "
                             "integrity check (the file was changed outside "
                             "xaccount-credproc); nothing was changed",
                             "restore the file from a backup, or store that key again")
        return plain.decode("utf-8")

    def put(self, key: bytes, name: str, value: str) -> None:
        self.entries[name] = self._seal(key, value.encode("utf-8"), "entry\0" + name)

    def rekeyed(self, old_key: bytes, passphrase: str, kdf: dict | None = None) -> tuple[
            "VaultFile", bytes]:
        """A copy with every entry sealed under a key from `passphrase` (new salt), and that
        key. Raises VaultError for an entry that does not open."""
        values = {name: self.get(old_key, name) for name in self.entries}
        fresh, key = new(self.path, passphrase, kdf, vault_id=self.id)
        for name, value in values.items():
            if value is not None:  # every name is an entry: get() opened it or raised
                fresh.put(key, name, value)
        return fresh, key

    # -- the file ----------------------------------------------------------------------------

    def encode(self) -> bytes:
        document = {**self.header, "check": _b64(self.check),
                    "entries": {name: _b64(v) for name, v in sorted(self.entries.items())}}
        return (json.dumps(document, indent=1) + "\n").encode()

    def save(self) -> None:
        """Atomically replace the file (temp, fsync, rename, fsync the directory). The caller
        holds `locked(path)`. Raises VaultError; the old file is then untouched."""
        try:
            files.replace_atomically(self.path, self.encode())
        except OSError as e:
            raise VaultError(f"cannot write the vault file {self.path}: {e.strerror}; nothing "
                             "was changed", "free some space, or make its directory "
                             "writable") from None


def new(path: str, passphrase: str, kdf: dict | None = None,
        vault_id: str | None = None) -> tuple[VaultFile, bytes]:
    """A new, empty vault (not yet saved) and its key."""
    kdf = {**(kdf or KDF), "salt": _b64(secrets.token_bytes(16))}
    header = {"format": FORMAT, "version": VERSION, "id": vault_id or secrets.token_hex(8),
              "kdf": kdf}
    key = derive(passphrase, kdf)
    vault = VaultFile(path, header, b"", {})
    vault.check = vault._seal(key, CHECK_TEXT, "check")
    return vault, key


def load(path: str) -> VaultFile | None:
    """The vault at `path`, None if there is none. Raises VaultError for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise VaultError(f"cannot read the vault file {path}: {e.strerror}",
                         "check its permissions (it must be yours, mode 600)") from None
    with open(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise VaultError(f"the vault file {path} is not yours alone (owner uid "
                             f"{st.st_uid}, mode {st.st_mode & 0o777:o})",
                             f"make it yours with mode 600 (chmod 600 {path})")
        data = f.read(MAX_SIZE + 1)
    if len(data) > MAX_SIZE:
        raise damaged(path, f"larger than {MAX_SIZE // 1024} KiB")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise damaged(path, "not valid JSON: truncated or changed") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise damaged(path, "not a vault file")
    version = document.get("version")
    if isinstance(version, int) and version > VERSION:
        raise VaultError(f"the vault file {path} was written by a newer xaccount-credproc "
                         f"(format {version}; this one reads {VERSION}); nothing was changed",
                         "upgrade xaccount-credproc")
    if version != VERSION:
        raise damaged(path, "its version is not a number")
    kdf = document.get("kdf")
    ok = (isinstance(kdf, dict) and kdf.get("name") == "argon2id"
          and all(isinstance(kdf.get(k), int) and not isinstance(kdf.get(k), bool)
                  for k in ("memory_kib", "iterations", "lanes"))
          and isinstance(document.get("id"), str) and isinstance(document.get("entries"), dict))
    if not ok or not isinstance(kdf, dict) or not (
            MIN_MEMORY_KIB <= kdf["memory_kib"] <= 4 << 20 and 1 <= kdf["iterations"] <= 64
            and 1 <= kdf["lanes"] <= 16):
        raise damaged(path, "its key-derivation parameters are missing or out of range")
    _unb64(kdf.get("salt"), path, "the salt")
    header = {k: document[k] for k in ("format", "version", "id", "kdf")}
    entries = {}
    for name, value in document["entries"].items():
        entries[name] = _unb64(value, path, f"the entry '{name}'")
    return VaultFile(path, header, _unb64(document.get("check"), path, "the check"), entries)


@contextlib.contextmanager
def locked(path: str):
    """The vault's write lock (a file beside it): one writer at a time."""
    from filelock import FileLock, Timeout

    lock = FileLock(path + ".lock", mode=0o600)
    try:
        lock.acquire(timeout=LOCK_TIMEOUT)
    except Timeout:
        raise VaultError(f"waited {LOCK_TIMEOUT:g}s for another xaccount-credproc writing the "
                         f"vault {path}", "let it finish, or stop it") from None
    except OSError as e:  # a read-only or immutable directory, a full disk
        raise VaultError(f"cannot write the vault file {path}: {e.strerror}; nothing was "
                         "changed", "free some space, or make its directory writable") from None
    try:
        yield
    finally:
        lock.release()


def make_directory(path: str) -> None:
    """The vault's directory, private (0700). Raises VaultError."""
    directory = os.path.dirname(path)
    try:
        os.makedirs(os.path.dirname(directory), exist_ok=True)
        files.make_private(directory)
    except (OSError, files.UntrustedCacheDir) as e:
        raise VaultError(f"cannot use {directory} for the vault: "
                         f"{getattr(e, 'strerror', None) or e}", "make it a directory of your "
                         "own with mode 700") from None


class VaultStore:
    """The vault as a SecretStore (backends/store.py). `key_for(vault)` returns the key that
    opens `vault`, asking for the passphrase if it must."""

    def __init__(self, key_for, path: str | None = None):
        self.path = path or default_path()
        self._key_for = key_for

    def traits(self) -> Traits:
        return DURABLE

    def exists(self) -> bool:
        return load(self.path) is not None

    def describe(self) -> str:
        return f"the vault {self.path}"

    def where(self) -> str:
        return f"the vault {self.path}"

    def _opened(self) -> tuple[VaultFile, bytes]:
        vault = self._reloaded()
        return vault, self._key_for(vault)

    def _reloaded(self) -> VaultFile:
        """The vault file as it is now. Raises VaultError when there is none (never made, or
        removed by `vault reset` meanwhile)."""
        vault = load(self.path)
        if vault is None:
            raise VaultError(f"there is no vault at {self.path}",
                             "create it with 'xaccount-credproc vault init'")
        return vault

    def get_many(self, names: list[str]) -> list[str | None]:
        vault = load(self.path)
        if vault is None or not any(name in vault.entries for name in names):
            return [None] * len(names)  # nothing to open: no passphrase asked
        vault, key = self._opened()
        return [vault.get(key, name) for name in names]

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        vault, key = self._opened()
        with locked(self.path):
            vault = self._reloaded()  # under the lock: another writer may have been first
            vault.verify(key)
            vault.put(key, name, value)
            vault.save()

    def delete(self, name: str) -> bool:
        vault = load(self.path)
        if vault is None or name not in vault.entries:
            return False
        with locked(self.path):
            vault = load(self.path)
            if vault is None or name not in vault.entries:
                return False
            del vault.entries[name]  # no key needed to forget an entry
            vault.save()
        return True
