"""Opening the vault (backends/vault.py) once per boot, and where stored sources live.

Unlocking: the key derived from the passphrase (never the passphrase) is kept in the kernel user
keyring with a timeout (`unlock_timeout` of [vault], 12 h by default); the kernel drops it then,
at reboot, or at `vault lock`. N parallel callers that find it missing take one lock and see one
prompt (prompt/passphrase.py), as with MFA. A wrong passphrase is asked again when a person types
it (3 tries in all); from `passphrase_process` or the environment it fails at once.

On the first unlock, stored sources of `keyring_backend = "auto"` that an earlier version (or a
machine without a vault then) kept in the kernel keyring move into the vault, so a reboot no
longer loses them.

Where a stored source's keys live (`store_for`): "auto" means the Secret Service where one
answers, else the vault; "vault", "secret-service" and "kernel" name one store.
"""

import base64
import contextlib
import time

from .. import debug
from ..backends import KeyringStore, StoreError
from ..errors import ConfigError, UserError

SERVICE = "xaccount-credproc"
TRIES = 3


def _kernel_name(vault_id: str) -> str:
    return f"vault-key/{vault_id}"


def cached_key(vault_id: str) -> bytes | None:
    """The key kept in the kernel keyring for the vault `vault_id`, if any."""
    from ..backends import keyctl

    try:
        value = keyctl.read_value(SERVICE, _kernel_name(vault_id))
    except keyctl.KernelKeyringError:
        return None
    if not value:
        return None
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def remember(vault_id: str, key: bytes, seconds: int, warnings: list[str]) -> None:
    from ..backends import kernel_keys, keyctl

    why_not = kernel_keys.available()
    try:
        if why_not is not None:
            raise keyctl.Refused(why_not)
        kernel_keys.KernelKeys(SERVICE).set(_kernel_name(vault_id),
                                            base64.b64encode(key).decode(),
                                            int(time.time()) + seconds)
    except keyctl.KernelKeyringError as e:
        warnings.append(f"the vault's key cannot be kept in the kernel keyring ({e}), so the "
                        "passphrase is asked for again next time")


def forget(vault_id: str) -> bool:
    from ..backends import kernel_keys, keyctl

    try:
        return kernel_keys.KernelKeys(SERVICE).delete(_kernel_name(vault_id))
    except keyctl.KernelKeyringError:
        return False


def unlocked_until(vault_id: str) -> int | None:
    """When the kernel drops the cached key (epoch seconds), if it says."""
    from ..backends import kernel_keys, keyctl

    try:
        for entry in kernel_keys.KernelKeys(SERVICE).entries():
            if entry.name == _kernel_name(vault_id):
                return entry.expires
    except keyctl.KernelKeyringError:
        return None
    return None


def state(vault_id: str, clock: str = "%Y-%m-%d %H:%M:%S") -> str:
    """"locked", or "unlocked until TIME" (`clock` a strftime format), for status and doctor."""
    if cached_key(vault_id) is None:
        return "locked"
    until = unlocked_until(vault_id)
    return "unlocked" + (f" until {time.strftime(clock, time.localtime(until))}" if until else "")


def _opening_key(vault) -> bytes | None:
    """The cached key if it opens `vault` (after `vault passwd`, or for a new vault, it does
    not)."""
    from ..backends.vault import WrongKey

    key = cached_key(vault.id)
    if key is None:
        return None
    try:
        vault.verify(key)
    except WrongKey:
        debug.log("the cached vault key does not open the vault")
        return None
    return key


class Unlocker:
    """`key_for(vault)` for backends.vault.VaultStore: the cached key, else one prompt under
    a lock shared by every caller of this user."""

    def __init__(self, settings: dict | None, warnings: list[str] | None = None,
                 terminal: bool = True):
        from ..config.rules import DEFAULT_UNLOCK_TIMEOUT

        settings = settings or {}
        self.process = settings.get("passphrase_process")
        self.timeout = settings.get("unlock_timeout") or DEFAULT_UNLOCK_TIMEOUT
        self.auto_sources = settings.get("auto_sources") or []
        self.warnings = [] if warnings is None else warnings
        self.terminal = terminal
        self.asked = 0

    def __call__(self, vault) -> bytes:
        key = _opening_key(vault)
        if key is not None:
            return key
        from . import locking

        with locking.held(f"vault-{vault.id}", "the vault's passphrase", self.warnings):
            key = _opening_key(vault)  # again: a parallel caller may have just unlocked it
            if key is not None:
                return key
            forget(vault.id)  # a stale key, if any, goes
            key = self.ask(vault)
            remember(vault.id, key, self.timeout, self.warnings)
            self.migrate(vault.path, key)
            return key

    def ask(self, vault, text: str = "Passphrase of the xaccount-credproc vault") -> bytes:
        """The key from a passphrase, checked against `vault`; asked again (3 tries in all)
        when a person types a wrong one."""
        from ..backends.vault import WrongKey, derive
        from ..prompt.passphrase import PassphraseSource

        source = PassphraseSource(self.process, vault.path, terminal=self.terminal)
        note = ""
        for attempt in range(TRIES):
            self.asked += 1
            passphrase = source.ask(note + text)
            key = derive(passphrase, vault.header["kdf"])
            try:
                vault.verify(key)
                debug.log(f"vault unlocked with the passphrase from {source.via}")
                return key
            except WrongKey as e:
                if not source.interactive or attempt == TRIES - 1:
                    what = e.what + (f" (from {source.via})" if not source.interactive else "")
                    raise VaultLocked(what, e.fix) from None
                note = "Wrong passphrase. "
        raise AssertionError("unreachable")

    def migrate(self, path: str, key: bytes) -> list[str]:
        """Move the auto sources' keys from the kernel keyring into the vault (they would be
        lost at reboot there). Returns the names moved."""
        from ..backends import kernel_keys, keyctl
        from ..backends import vault as vaults
        from .stored_keys import entry_name

        moved = []
        try:
            kernel = kernel_keys.KernelKeys(SERVICE)
            found = {}
            for name in self.auto_sources:
                for pending in (False, True):
                    entry = entry_name(name, pending)
                    value = keyctl.read_value(SERVICE, entry)
                    if value:
                        found[entry] = value
        except keyctl.KernelKeyringError:
            return []
        if not found:
            return []
        with vaults.locked(path):
            vault = vaults.load(path)
            if vault is None:  # removed meanwhile (vault reset): nothing to move into
                return []
            vault.verify(key)
            for entry, value in found.items():
                if entry not in vault.entries:
                    vault.put(key, entry, value)
            vault.save()
        for entry in found:
            with contextlib.suppress(keyctl.KernelKeyringError):
                kernel.delete(entry)
            moved.append(entry)
        self.warnings.append(f"moved {len(found)} stored key(s) from the kernel keyring into "
                             f"the vault {path}, where they survive a reboot")
        return moved


class VaultLocked(ConfigError):
    """The vault could not be opened (wrong passphrase, nowhere to ask)."""


def vault_store(settings: dict | None, warnings: list[str] | None = None, path=None):
    from ..backends.vault import VaultStore

    return VaultStore(Unlocker(settings, warnings), path)


class AutoSourceStore:
    """A SecretStore (backends/store.py) for keyring_backend = "auto" of a stored source: the
    Secret Service where one answers
    (through keyring's own choice), else the vault. Reads also find keys that an earlier
    version kept in the kernel keyring (moved into the vault at its next unlock)."""

    takes_expiry = False
    kernel = False
    chunk_size = None

    def __init__(self, settings: dict | None, warnings: list[str] | None = None):
        self.keyring = KeyringStore(backend="auto")
        self.vault = vault_store(settings, warnings)

    def replaceable(self) -> bool:
        return False

    def _desktop(self) -> bool:
        """Whether keyring's choice is a store that survives a reboot (not the kernel's)."""
        try:
            return not self.keyring.kernel
        except StoreError:  # no OS keyring at all (a seccomp profile refuses keyctl, ...)
            return False

    def describe(self) -> str:
        if self._desktop():
            return self.keyring.describe()
        return self.vault.describe()

    def where(self) -> str:
        return self.keyring.where() if self._desktop() else self.vault.where()

    def get_many(self, names: list[str]) -> list[str | None]:
        try:
            values = self.keyring.get_many(names)
        except StoreError:
            if self._desktop():
                raise
            values = [None] * len(names)
        if None in values and not self._desktop():
            from_vault = self.vault.get_many(names)
            values = [v if v is not None else w for v, w in zip(values, from_vault, strict=True)]
        return values

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        if self._desktop():
            self.keyring.set(name, value)
            return
        if not self.vault.exists():
            raise StoreError(
                "no desktop keyring (Secret Service) answers here, and the kernel keyring "
                "forgets its keys at reboot", "create the vault with 'xaccount-credproc vault "
                "init', or pass --volatile to keep the key in the kernel keyring until reboot")
        self.vault.set(name, value)
        # A copy an earlier version left in the kernel keyring would be read first.
        with contextlib.suppress(StoreError):
            self.keyring.delete(name)

    def delete(self, name: str) -> bool:
        try:
            found = self.keyring.delete(name)
        except StoreError:
            if self._desktop():
                raise
            found = False
        return self.vault.delete(name) or found


def source_store(source, settings: dict | None, warnings: list[str] | None = None):
    """Where the stored source `source` (config.model.Source) keeps its keys."""
    return store_for(source.keyring_backend, settings, warnings)


def store_for(backend: str, settings: dict | None, warnings: list[str] | None = None):
    """The store of a stored source's keys, by its keyring_backend."""
    if backend == "vault":
        return vault_store(settings, warnings)
    if backend == "auto":
        return AutoSourceStore(settings, warnings)
    if backend not in ("kernel", "secret-service"):
        raise UserError(f"unknown keyring_backend {backend!r}", "see README")
    return KeyringStore(backend=backend)


