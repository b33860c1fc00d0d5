"""Where a stored source's keys live, by its keyring_backend: "auto" means the Secret Service
where one answers, else the vault (`AutoSourceStore`, a chooser); "vault" the vault; anything
else the store the backends' factory (backends.store_named) gives for it. Each is a SecretStore
(backends/store.py)."""

import contextlib

from ...backends import StoreError, store_named
from ...backends.store import DURABLE, Traits
from ...config import VaultSettings
from ...errors import UserError
from .unlock import Unlocker

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ...backends.store import SecretStore


def vault_store(settings: VaultSettings | None, warnings: list[str] | None = None, path=None):
    from ...backends.vault import VaultStore

    return VaultStore(Unlocker(settings, warnings), path)


class AutoSourceStore:
    """A SecretStore (backends/store.py) for keyring_backend = "auto" of a stored source: the
    Secret Service where one answers
    (through keyring's own choice), else the vault. Reads also find keys that an earlier
    version kept in the kernel keyring (moved into the vault at its next unlock)."""

    def __init__(self, settings: VaultSettings | None, warnings: list[str] | None = None):
        self.keyring = store_named("auto")
        self.vault = vault_store(settings, warnings)

    def traits(self) -> Traits:
        return DURABLE

    def _desktop(self) -> bool:
        """Whether keyring's choice is a store that survives a reboot (not the kernel's)."""
        try:
            return not self.keyring.traits().volatile
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


def source_store(source, settings: VaultSettings | None,
                 warnings: list[str] | None = None) -> "SecretStore":
    """Where the stored source `source` (config.StoredSourceSettings) keeps its keys."""
    return store_for(source.keyring_backend, settings, warnings)


def store_for(backend: str, settings: VaultSettings | None,
              warnings: list[str] | None = None) -> "SecretStore":
    """The store of a stored source's keys, by its keyring_backend."""
    if backend == "vault":
        return vault_store(settings, warnings)
    if backend == "auto":
        return AutoSourceStore(settings, warnings)
    try:
        return store_named(backend)
    except ValueError:
        raise UserError(f"unknown keyring_backend {backend!r}", "see README") from None
