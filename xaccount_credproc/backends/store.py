"""The one interface of every secret store: what a caller may use of a store, and nothing else.

`SecretStore` is a Protocol, checked by mypy (tests/test_types.py): KeyringStore (the OS
keyring: keyring's choice, the Secret Service, the kernel keyring; backends/__init__.py),
VaultStore (the encrypted file; backends/vault.py) and AutoSourceStore (a stored source's keys:
the Secret Service, else the vault; credentials/stored/stores.py) implement it, and no caller asks
a store what it can do any other way. Every method may raise StoreError.

Nothing imports this module at run time: a cache hit must not pay for `typing`. Modules name the
Protocol in annotations behind `if TYPING:` (mypy's `always_true`, pyproject.toml).
"""

from typing import Protocol


class SecretStore(Protocol):
    """Named secret strings, with what a caller may need to know about where they are kept."""

    takes_expiry: bool  # set(expires=) lets the store drop the entry itself at that time

    @property
    def chunk_size(self) -> int | None:
        """Characters per entry the store takes (None: the cache's default, which fits them
        all: Windows Credential Manager's 2560 bytes)."""

    @property
    def kernel(self) -> bool:
        """Whether writes go to the Linux kernel keyring (gone at reboot)."""

    def replaceable(self) -> bool:
        """Whether another store may stand in when this one fails (keyring's own choice only;
        never a store named in the config)."""

    def describe(self) -> str:
        """Which store, exactly, for doctor (a backend's class, the vault's path)."""

    def where(self) -> str:
        """Where it keeps secrets, in words for a message ("the OS keyring", "the vault PATH")."""

    def get_many(self, names: list[str]) -> list[str | None]:
        """The values of `names`, None where missing."""

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        """Store `value` under `name` (`expires`: epoch seconds, for a store that takes it)."""

    def delete(self, name: str) -> bool:
        """Remove `name`; whether it was there."""
