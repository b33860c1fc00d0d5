"""A SecretStore in memory, for unit tests of the cache format."""

from xaccount_credproc.backends.store import Traits


class MemoryStore:
    """An in-memory SecretStore (backends/store.py), for unit speed only; mypy checks that it
    implements the interface (tests/typing/store_conformance.py)."""

    def __init__(self, chunk_size: int | None = None):
        self.items: dict[str, str] = {}
        self.chunk_size = chunk_size

    def traits(self) -> Traits:
        return Traits(chunk_size=self.chunk_size)

    def describe(self) -> str:
        return "memory"

    def where(self) -> str:
        return "memory"

    def get_many(self, names: list[str]) -> list[str | None]:
        return [self.items.get(n) for n in names]

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        self.items[name] = value

    def delete(self, name: str) -> bool:
        return self.items.pop(name, None) is not None
