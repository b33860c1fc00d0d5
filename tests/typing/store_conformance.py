"""Checked by mypy (tests/test_types.py), never run: every store class is a SecretStore."""

from tests.harness.memory_store import MemoryStore
from xaccount_credproc.backends import AutoStore
from xaccount_credproc.backends.kernel_keys import KernelKeyringStore
from xaccount_credproc.backends.keyring_library import KeyringLibraryStore
from xaccount_credproc.backends.secret_service import SecretServiceStore
from xaccount_credproc.backends.store import SecretStore
from xaccount_credproc.backends.vault import VaultStore
from xaccount_credproc.credentials.stored.stores import AutoSourceStore


def every_store_is_a_secret_store(auto: AutoStore, secret_service: SecretServiceStore,
                                  kernel: KernelKeyringStore, library: KeyringLibraryStore,
                                  vault: VaultStore, source: AutoSourceStore,
                                  memory: MemoryStore) -> list[SecretStore]:
    return [auto, secret_service, kernel, library, vault, source, memory]
