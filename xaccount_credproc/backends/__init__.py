"""Where secrets are kept: one class per kind of store, each a `SecretStore` (store.py), as
keyring's own backends are, and `store_named`, the factory, the one place where a store's name
(`keyring_backend`) is compared.

* `SecretServiceStore` (secret_service.py): the Secret Service (gnome-keyring, KWallet,
  KeePassXC); reads through a bounded D-Bus client of this package, the rest through keyring's
  SecretService backend.
* `KernelKeyringStore` (kernel_keys.py): the Linux kernel keyring, through direct system calls
  (keyctl.py); entries carry a kernel timeout, the quota is managed. kernel_keyring.py offers
  the same store to the keyring library as one of its backends (an entry point).
* `KeyringLibraryStore` (keyring_library.py): any backend of the keyring library (macOS
  Keychain, Windows Credential Manager, ...), every call bounded.
* `VaultStore` (vault.py): the encrypted file, for stored sources' long-term keys.
* `AutoStore` (here): keyring_backend = "auto": the keyring library's own choice, with this
  package's kernel backend registered, and the fast reads of the Secret Service and the kernel
  keyring in front of it.

Every store raises `StoreError` (errors.py) for anything that goes wrong, which says what
failed and how to fix it; what that means to the caller ("so credentials are not cached") is
the caller's to add (`StoreError.so`). What a store is (`SecretStore`, `Traits`) is store.py.
The factory, `AutoStore` and the Secret Service's read live on the cache-hit path: nothing
heavy is imported before it is used, and no store module imports this one (the factory imports
them).
"""

import sys

from .. import environ as env

# StoreError (errors.py) and debug come on first use (module __getattr__, and in the functions):
# a kernel-keyring hit reads through keyctl.py below this package and needs neither.

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..errors import StoreError
    from .keyring_library import Bounds
    from .store import SecretStore, Traits

__all__ = ["NOT_CACHED", "SERVICE", "STOOD_IN", "AutoStore", "StoreError", "store_named"]


def __getattr__(name: str):
    if name == "StoreError":
        from ..errors import StoreError

        return StoreError
    raise AttributeError(name)

SERVICE = "xaccount-credproc"
# A keyring call that takes longer is given up on: a hung daemon must not hang `aws`.
TIMEOUT = 3.0
BACKENDS = ("auto", "secret-service", "kernel")
KERNEL_BACKEND = "xaccount_credproc.backends.kernel_keyring.KernelKeyring"
KEYRING_SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
# What a cache that cannot use its store says about it.
NOT_CACHED = "credentials are not cached"
STOOD_IN = "credentials are kept in the kernel keyring meanwhile"


def store_named(backend: str = "auto", service: str = SERVICE,
                timeout: float | None = None) -> "SecretStore":
    """The store a `keyring_backend` value names. "auto" follows PYTHON_KEYRING_BACKEND where
    it names the kernel keyring or the Secret Service (keyring's own variable), else it is
    keyring's choice (`AutoStore`)."""
    bound = TIMEOUT if timeout is None else timeout
    if backend == "auto":
        named = env("PYTHON_KEYRING_BACKEND")
        backend = ("kernel" if named == KERNEL_BACKEND else
                   "secret-service" if named == KEYRING_SECRET_SERVICE else "auto")
    if backend == "kernel":
        from .kernel_keys import KernelKeyringStore

        return KernelKeyringStore(service)
    if backend == "secret-service":
        from .secret_service import SecretServiceStore

        return SecretServiceStore(service, bound)
    if backend != "auto":
        raise ValueError(f"unknown keyring backend {backend!r}")  # rules.py validated it
    return AutoStore(service, bound)


def forgets_at_reboot(backend: str) -> bool:
    """Whether the store a keyring_backend value names keeps entries only until reboot."""
    return backend == "kernel"


def kernel_may_keep(backend: str) -> bool:
    """Whether the kernel keyring may keep this tool's short-lived records (the last MFA
    code's) for a profile of this keyring_backend: a store named otherwise is the only one."""
    return backend in ("auto", "kernel")


class AutoStore:
    """keyring_backend = "auto": the keyring library's own choice, with this package's kernel
    backend registered: the Secret Service where one answers, else (Linux) the kernel keyring,
    else whatever keyring finds (macOS Keychain, Windows Credential Manager, ...).

    Reads first try the fast paths: the Secret Service's own D-Bus read, which answers only when
    it finds exactly what keyring wrote, then the kernel keyring (two system calls). A miss
    there is confirmed by the chosen store, which takes every write. Its errors may be stood in
    for (`StoreError.stand_in`), unless the chosen store is the kernel keyring itself."""

    def __init__(self, service: str = SERVICE, timeout: float = TIMEOUT):
        self.service, self.timeout = service, timeout
        self._chosen: SecretStore | None = None
        self._chose_kernel = False
        self._stuck: StoreError | None = None  # the Secret Service's bus did not answer
        self._bounds: Bounds | None = None  # shared with the store chosen

    def where(self) -> str:
        return "the OS keyring"

    def traits(self) -> "Traits":
        return self._call(lambda store: store.traits())

    def describe(self) -> str:
        return self._call(lambda store: store.describe())

    def _choose(self) -> "SecretStore":
        if self._chosen is None:
            from . import keyring_library

            bounds = self._bounds = self._bounds or keyring_library.Bounds(self.timeout)
            backend = keyring_library.choose(bounds)
            from .kernel_keyring import KernelKeyring  # keyring has loaded it already

            if isinstance(keyring_library.first_writer(backend), KernelKeyring):
                # keyring chose the kernel keyring: write it directly, with timeouts and quota
                # management that keyring's API has no words for.
                from .. import debug
                from .kernel_keys import KernelKeyringStore

                debug.log("store: the kernel keyring (keyring's choice)")
                self._chose_kernel = True
                self._chosen = KernelKeyringStore(self.service)
            else:
                self._chosen = keyring_library.KeyringLibraryStore(backend, self.service,
                                                                   bounds)
        return self._chosen

    def _call(self, use):
        """`use(the chosen store)`, its errors marked as ones another store may stand in for
        (unless the kernel keyring itself failed)."""
        from ..errors import StoreError

        try:
            return use(self._choose())
        except StoreError as e:
            e.stand_in = not self._chose_kernel
            raise

    # -- reading and writing ------------------------------------------------------------------

    def _kernel_may_answer(self) -> bool:
        """Whether a kernel-keyring read may find what keyring's choice wrote."""
        return kernel_may_answer()

    def get_many(self, names: list[str]) -> list[str | None]:
        """The stored values (None where missing). The fast paths answer only when they find
        every name; a miss there is confirmed by the chosen store."""
        from ..errors import StoreError

        if not names:
            return []
        values = None
        if self._stuck is not None:
            raise self._stuck  # keyring would talk to the same peer, without bounds
        if env("DBUS_SESSION_BUS_ADDRESS") and keyring_uses_secret_service():
            # (no session bus: SSH, WSL2, servers: not even the D-Bus client is loaded)
            from . import secret_service

            try:
                values = secret_service.fast_read(self.service, names)
            except StoreError as e:
                e.stand_in = True
                self._stuck = e
                raise
            if values is not None and None not in values:
                return values
        if self._kernel_may_answer():
            from . import keyctl

            try:
                found = [keyctl.read_value(self.service, name) for name in names]
            except keyctl.KernelKeyringError:
                found = None  # the chosen store will say what is wrong
            if found is not None:
                values = [v if v is not None else k
                          for v, k in zip(values or [None] * len(names), found, strict=True)]
                if None not in values or self._chose_kernel:
                    return values  # complete, or the kernel is known to be the store
        from .. import debug

        debug.log("keyring lookup (the fast paths had no answer)")
        return self._call(lambda store: store.get_many(names))

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        self._call(lambda store: store.set(name, value, expires))

    def delete(self, name: str) -> bool:
        from ..errors import StoreError

        found = self._call(lambda store: store.delete(name))
        if self._kernel_may_answer() and not self._chose_kernel:
            # Written while no Secret Service ran: gone too, or reads would still find it.
            from .kernel_keys import KernelKeyringStore

            try:  # noqa: SIM105 - contextlib costs 4 ms of import on the hit path's module
                found = KernelKeyringStore(self.service).delete(name) or found
            except StoreError:
                pass
        return found


def keyring_uses_secret_service() -> bool:
    """Whether keyring would use its Secret Service backend (as far as can be told cheaply)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = env("PYTHON_KEYRING_BACKEND")
    if chosen is not None:
        return chosen == KEYRING_SECRET_SERVICE
    return keyring_unconfigured()


def keyring_unconfigured() -> bool:
    """Whether keyring picks its backend by itself: no PYTHON_KEYRING_BACKEND, and no
    keyringrc.cfg, which may name another backend (don't second-guess it)."""
    if env("PYTHON_KEYRING_BACKEND") is not None:
        return False
    config_home = env("XDG_CONFIG_HOME") or (env("HOME") or "~") + "/.config"
    if config_home.startswith("~"):
        import os

        config_home = os.path.expanduser(config_home)
    try:
        import posix

        posix.stat(f"{config_home}/python_keyring/keyringrc.cfg")
    except ImportError:  # pragma: no cover - not POSIX
        import os

        return not os.path.exists(os.path.join(config_home, "python_keyring", "keyringrc.cfg"))
    except OSError:
        return True
    return False


def kernel_may_answer() -> bool:
    """Whether the kernel keyring may hold what an "auto" store keeps (AutoStore reads it):
    on Linux, with keyring left to pick its backend by itself."""
    return sys.platform.startswith("linux") and keyring_unconfigured()
