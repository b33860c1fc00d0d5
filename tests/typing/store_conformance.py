"""Checked by mypy (tests/test_types.py), never run: every store class is a SecretStore."""

from tests.harness.memory_store import MemoryStore
from xaccount_credproc.backends import KeyringStore
from xaccount_credproc.backends.store import SecretStore
from xaccount_credproc.backends.vault import VaultStore
from xaccount_credproc.credentials.stored.stores import AutoSourceStore


def every_store_is_a_secret_store(keyring: KeyringStore, vault: VaultStore,
                                  source: AutoSourceStore,
                                  memory: MemoryStore) -> list[SecretStore]:
    return [keyring, vault, source, memory]
