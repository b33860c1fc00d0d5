"""What a secret store is: the one interface a caller may use of a store (`SecretStore`), and
what a caller may need to know about how it keeps secrets (`Traits`), nothing else.

`SecretStore` is a Protocol, checked by mypy (tests/test_types.py): each backend's class
(`SecretServiceStore`, `KernelKeyringStore`, `KeyringLibraryStore`, `VaultStore`), the
choosers (`AutoStore` in backends/__init__.py, `AutoSourceStore` for stored sources' keys) and the tests'
`MemoryStore` implement it (tests/typing/store_conformance.py), and no caller asks a store what
it can do any other way. Every method may raise StoreError.

A cache hit never imports this module (it must not pay for `typing`): stores import `Traits`
where they are asked for them, and modules name the Protocol in annotations behind
`if TYPING:` (mypy's `always_true`, pyproject.toml).
"""

from typing import Protocol

KEYRING_FIX = 'or set cache = "none" in the config to stop using the keyring'


class Traits:
    """What a caller may need to know about how a store keeps secrets."""

    __slots__ = ("chunk_size", "expires", "volatile")

    def __init__(self, chunk_size: int | None = None, expires: bool = False,
                 volatile: bool = False):
        # Characters per entry it takes (None: the cache's default, which fits every store:
        # Windows Credential Manager's 2560 bytes).
        self.chunk_size = chunk_size
        self.expires = expires  # set(expires=) lets the store drop the entry itself then
        self.volatile = volatile  # its entries are gone at reboot (the kernel keyring)


DURABLE = Traits()


class SecretStore(Protocol):
    """Named secret strings, with what a caller may need to know about where they are kept."""

    def traits(self) -> Traits:
        """How it keeps secrets: entry size, expiry, whether they survive a reboot."""
        ...

    def describe(self) -> str:
        """Which store, exactly, for doctor (a backend's class, the vault's path)."""
        ...

    def where(self) -> str:
        """Where it keeps secrets, in words for a message ("the OS keyring", "the vault PATH")."""
        ...

    def get_many(self, names: list[str]) -> list[str | None]:
        """The values of `names`, None where missing."""
        ...

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        """Store `value` under `name` (`expires`: epoch seconds, for a store that takes it)."""
        ...

    def delete(self, name: str) -> bool:
        """Remove `name`; whether it was there."""
        ...
