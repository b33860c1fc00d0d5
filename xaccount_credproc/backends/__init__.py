"""Where secrets are kept, one module per kind of store, and `KeyringStore`, the one interface
the rest of the package uses: `get_many(names)`, `set(name, value, expires=)`, `delete(name)`,
`describe()`, and `StoreError` for anything that goes wrong.

* `secret_service`: the read-only fast path to the Secret Service (gnome-keyring, KWallet,
  KeePassXC) over the session bus, with a bounded D-Bus client of its own; writes go through
  keyring's own SecretService backend.
* `keyctl`: the Linux kernel key retention service through direct system calls, the read side a
  cache hit needs; `kernel_keys`: its writes, evictions, listing and quota; `kernel_keyring`: the
  same store as a `keyring` backend, registered through keyring's `keyring.backends` entry point
  so that keyring (and its `keyring` command) can use it too.
* Everything else (macOS Keychain, Windows Credential Manager, ...) through keyring.

`KeyringStore` lives here, in the package itself, because every cache hit needs it: one module
fewer on every `aws` command.

The OS keyring as a store of named strings: keyring, or the Linux kernel keyring.

Which store (`keyring_backend` in the config; PYTHON_KEYRING_BACKEND when that is "auto"):

* "auto": keyring's own choice, with this package's kernel-keyring backend registered: the
  Secret Service where one is reachable, else (Linux) the kernel keyring, else whatever keyring
  finds (macOS Keychain, Windows Credential Manager, ...).
* "secret-service": only the Secret Service (gnome-keyring, KWallet, KeePassXC).
* "kernel": only the kernel keyring, through keyctl.py and kernel_keys.py, without
  keyring at all.

Reads first try the fast paths: the read-only Secret Service client (secret_service.py), which
answers only when it finds exactly what keyring wrote, then the kernel keyring (two system
calls). A miss is confirmed by the chosen store, which takes every write. The kernel keyring is
written directly (never through keyring) so that entries carry a kernel timeout and the quota
is managed (see kernel_keys.py).
Keyring trouble becomes a `StoreError` that says what is wrong and how to fix it; the caller turns
it into a warning and carries on without the cache.
"""

import os
import sys

from .. import debug

SERVICE = "xaccount-credproc"
KEYRING_FIX = 'or set cache = "none" in the config to stop using the keyring'
# A keyring call that takes longer is given up on: a hung daemon must not hang `aws`.
TIMEOUT = 3.0
BACKENDS = ("auto", "secret-service", "kernel")
KERNEL_BACKEND = "xaccount_credproc.backends.kernel_keyring.KernelKeyring"
KEYRING_SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
# A kernel key holds up to 32767 bytes: one chunk per entry (Windows needs many, see cache.py).
KERNEL_CHUNK = 16000


class StoreError(Exception):
    def __init__(self, what: str, fix: str, decode_error: bool = False):
        super().__init__(what)
        self.what, self.fix = what, fix
        self.decode_error = decode_error  # the backend found a value that is not text

    def __str__(self) -> str:
        return f"{self.what}; {self.fix}"


def kernel_error(error) -> StoreError:
    """A StoreError for an error of the kernel keyring (backends.keyctl's classes)."""
    from . import keyctl

    if isinstance(error, keyctl.QuotaFull):
        return StoreError(f"{error}, so credentials are not cached", "free some (keyctl show @u) "
                          "or raise the quota (sysctl kernel.keys.maxbytes=100000 "
                          f"kernel.keys.maxkeys=1000), {KEYRING_FIX}")
    if isinstance(error, keyctl.Refused):
        return StoreError(f"{error}, so credentials are not cached", "allow add_key and keyctl "
                          "(e.g. a seccomp profile that permits them), start a Secret Service, "
                          + KEYRING_FIX)
    return StoreError(f"{error}, so credentials are not cached",
                      f"check the kernel keyring ('keyctl show @u'), {KEYRING_FIX}")


class KeyringStore:
    """The OS keyring as a SecretStore (backends/store.py), chosen as the module says."""

    takes_expiry = True  # set() accepts expires=

    def __init__(self, service: str = SERVICE, timeout: float | None = None,
                 backend: str = "auto"):
        self.service = service
        self.timeout = TIMEOUT if timeout is None else timeout
        self.choice = backend
        self._keyring = None
        self._kernel = None  # backends.kernel_keys.KernelKeys when the kernel takes writes
        self._stuck: StoreError | None = None

    # -- which store --------------------------------------------------------------------------

    def _forced(self) -> str:
        """"kernel", "secret-service" or "auto" (keyring chooses, see the module docstring)."""
        if self.choice != "auto":
            return self.choice
        named = os.environ.get("PYTHON_KEYRING_BACKEND")
        if named == KERNEL_BACKEND:
            return "kernel"
        if named == KEYRING_SECRET_SERVICE:
            return "secret-service"
        return "auto"

    def _kernel_may_answer(self) -> bool:
        """Whether a kernel-keyring read may find what keyring's choice wrote."""
        if not sys.platform.startswith("linux"):
            return False
        forced = self._forced()
        if forced != "auto":
            return forced == "kernel"
        return keyring_unconfigured()

    def _kernel_keys(self):
        from . import kernel_keys

        return kernel_keys.KernelKeys(self.service)

    def replaceable(self) -> bool:
        """Whether another store may stand in for this one when it fails: keyring's own choice
        (not a store named in the config or by PYTHON_KEYRING_BACKEND), and not the kernel
        keyring itself. Asks no daemon."""
        return self._forced() == "auto" and self._kernel is None

    @property
    def kernel(self) -> bool:
        """Whether writes go to the kernel keyring. Raises StoreError."""
        self._backend()
        return self._kernel is not None

    @property
    def chunk_size(self) -> int | None:
        """Characters per chunk the store takes (None: cache.py's default). Raises StoreError."""
        return KERNEL_CHUNK if self.kernel else None

    def where(self) -> str:
        return ("the kernel keyring (until reboot)" if self.choice == "kernel"
                else "the OS keyring")

    def describe(self) -> str:
        """The store in use, for doctor. Raises StoreError."""
        backend = self._backend()
        if self._kernel is not None:
            return "kernel keyring (the user keyring, @u)"
        writer = _first_writer(backend)  # keyring's chainer: the backend that takes writes
        return f"{type(writer).__module__}.{type(writer).__name__}"

    def _backend(self):
        if self._keyring is not None:
            return self._keyring
        forced = self._forced()
        if forced == "kernel":
            from . import kernel_keys, keyctl

            why_not = kernel_keys.available()
            if why_not is not None:
                raise kernel_error(keyctl.Refused(why_not))
            self._kernel = self._kernel_keys()
            self._keyring = self._kernel
            debug.log("store: the kernel keyring")
            return self._keyring
        if forced == "secret-service":
            self._keyring = self._secret_service_backend()
            return self._keyring
        self._keyring = self._keyring_choice()
        return self._keyring

    def _secret_service_backend(self):
        _import_keyring()
        from keyring.backends import SecretService

        try:
            self._bounded("looking for the Secret Service",
                          lambda: SecretService.Keyring.priority)
        except StoreError:
            raise
        except Exception:
            raise StoreError(
                'keyring_backend = "secret-service", but no Secret Service answers on the '
                "session bus, so credentials are not cached", "start one (gnome-keyring, "
                'KeePassXC, KWallet) or set keyring_backend = "auto", ' + KEYRING_FIX) from None
        debug.log("store: the Secret Service (forced)")
        return SecretService.Keyring()

    def _keyring_choice(self):
        _import_keyring()
        import keyring
        from keyring.backends import fail

        try:
            backend = self._bounded("choosing a backend", keyring.get_keyring)
        except StoreError:
            raise
        except Exception as e:  # e.g. PYTHON_KEYRING_BACKEND naming a missing module
            chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
            where = (f"PYTHON_KEYRING_BACKEND={chosen!r}" if chosen
                     else "keyring's configuration (keyringrc.cfg)")
            raise StoreError(f"the keyring backend named by {where} cannot be loaded "
                             f"({type(e).__name__}), so credentials are not cached",
                             f"fix or unset it, {KEYRING_FIX}") from None
        if isinstance(backend, fail.Keyring) or _is_empty_chain(backend):
            kernel = ""
            if sys.platform.startswith("linux"):
                from . import kernel_keys

                kernel = f"; the kernel keyring: {kernel_keys.available() or 'not chosen'}"
            raise StoreError(
                f"no OS keyring is available (no Secret Service answers{kernel}), so "
                "credentials are not cached", "start a Secret Service (gnome-keyring, "
                "KeePassXC) in your session, " + KEYRING_FIX)
        debug.log(f"keyring backend: {type(backend).__module__}.{type(backend).__name__}")
        from .kernel_keyring import KernelKeyring  # keyring has loaded it already

        if isinstance(_first_writer(backend), KernelKeyring):
            # keyring chose the kernel keyring: write it directly, with timeouts and quota
            # management that keyring's API has no words for.
            debug.log("store: the kernel keyring (keyring's choice)")
            self._kernel = self._kernel_keys()
            return self._kernel
        return backend

    # -- reading and writing ------------------------------------------------------------------

    def get_many(self, names: list[str]) -> list[str | None]:
        """The stored values (None where missing). The fast paths answer only when they find
        every name; a miss there is confirmed by the chosen store."""
        if not names:
            return []
        forced = self._forced()
        if forced == "kernel":
            return self._kernel_get(names)
        values = self._secret_service_get(names, forced == "secret-service")
        if values is not None and None not in values:
            return values
        if self._kernel_may_answer():
            try:
                found = self._kernel_get(names)
            except StoreError:
                found = None  # the chosen store will say what is wrong
            if found is not None:
                values = [v if v is not None else k
                          for v, k in zip(values or [None] * len(names), found, strict=True)]
                if None not in values or self._kernel is not None:
                    return values  # complete, or the kernel is known to be the store
        debug.log("keyring lookup (the fast paths had no answer)")
        backend = self._backend()
        if self._kernel is not None:
            return self._kernel_get(names)
        return [self._read_one(backend, name) for name in names]

    def _kernel_get(self, names: list[str]) -> list[str | None]:
        from . import keyctl

        try:
            return [keyctl.read_value(self.service, name) for name in names]
        except keyctl.KernelKeyringError as e:
            raise kernel_error(e) from None

    def _secret_service_get(self, names: list[str], forced: bool) -> list[str | None] | None:
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            return None  # no session bus (SSH, WSL2, servers): not even the module is loaded
        if not (forced or keyring_uses_secret_service()):
            return None  # keyring would look elsewhere: so must a read
        from . import dbus, secret_service

        try:
            return secret_service.read(self.service, names)
        except dbus.Unusable as e:
            # keyring would talk to the same peer, without bounds: don't ask it.
            what = (f"did not answer within {secret_service.TIMEOUT:g}s"
                    if isinstance(e, dbus.NoAnswer) else "sent a malformed D-Bus reply")
            self._stuck = StoreError(
                f"the Secret Service {what}, so credentials are not cached", "its daemon "
                f"(gnome-keyring, KWallet) may be hung or broken: restart it, {KEYRING_FIX}")
            raise self._stuck from None

    def _read_one(self, backend, name: str) -> str | None:
        try:
            return self._call("reading", backend.get_password, self.service, name)
        except StoreError as e:
            if e.decode_error:
                return ""  # an entry that is not text: a miss, overwritten by the next fetch
            raise

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        """Store `value`; `expires` (epoch seconds) lets a store that can drop it by itself
        (the kernel keyring) do so."""
        backend = self._backend()
        if self._kernel is not None:
            from . import keyctl

            try:
                self._kernel.set(name, value, expires)
            except keyctl.KernelKeyringError as e:
                raise kernel_error(e) from None
            return
        self._call("writing", backend.set_password, self.service, name, value)

    def delete(self, name: str) -> bool:
        backend = self._backend()
        if self._kernel is not None:
            return self._kernel_delete(self._kernel, name)
        from keyring.errors import PasswordDeleteError

        try:
            self._call("deleting", backend.delete_password, self.service, name)
            found = True
        except PasswordDeleteError:
            found = False
        if self._kernel_may_answer():
            # Written while no Secret Service ran: gone too, or reads would still find it.
            try:  # noqa: SIM105 - contextlib costs 4 ms of import on the hit path's module
                found = self._kernel_delete(self._kernel_keys(), name) or found
            except StoreError:
                pass
        return found

    def _kernel_delete(self, keys, name: str) -> bool:
        from . import keyctl

        try:
            return keys.delete(name)
        except keyctl.KernelKeyringError as e:
            raise kernel_error(e) from None

    def _bounded(self, doing: str, function, *args):
        """`function(*args)` in a helper thread, given up on after `timeout` seconds.

        keyring has no timeouts of its own, and a hung daemon (stopped, deadlocked, waiting on
        a dialog nobody sees) would hang every `aws` command. A thread that did not come back is
        left behind (it is a daemon thread: it does not keep the process alive) and the store is
        not used again in this process."""
        if self._stuck is not None:
            raise self._stuck
        import threading

        outcome: list = []

        def run():
            try:
                outcome.append((True, function(*args)))
            except BaseException as e:  # handed to the caller's thread
                outcome.append((False, e))

        thread = threading.Thread(target=run, name="keyring", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if not outcome:
            self._stuck = StoreError(
                f"the OS keyring did not answer within {self.timeout:g}s ({doing}), so "
                "credentials are not cached", "its daemon may be hung: restart it (or log out "
                f"and in), {KEYRING_FIX}")
            raise self._stuck
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    def _call(self, doing: str, function, *args):
        from keyring.errors import KeyringLocked, PasswordDeleteError

        try:
            return self._bounded(doing, function, *args)
        except (PasswordDeleteError, StoreError):
            raise
        except KeyringLocked:
            raise StoreError("the OS keyring is locked, so credentials are not cached",
                             "unlock it (log in to your desktop session, or run "
                             f"'gnome-keyring-daemon --unlock'), {KEYRING_FIX}") from None
        except Exception as e:  # backends raise many types (D-Bus, OS errors, size limits)
            if _dbus_name(e) in NO_SERVICE_ERRORS:
                raise StoreError(
                    "no Secret Service answers on the session bus (its daemon exited or was "
                    "never started), so credentials are not cached", "start it again (log out "
                    "and in, or run 'gnome-keyring-daemon --start --components=secrets'), "
                    + KEYRING_FIX) from None
            raise StoreError(f"the OS keyring failed {doing} ({_describe(e)}), so credentials "
                             "are not cached", f"check that your keyring works, {KEYRING_FIX}",
                             decode_error=isinstance(e, UnicodeDecodeError)) from None


# What the bus answers when no one owns org.freedesktop.secrets (a killed or absent daemon).
NO_SERVICE_ERRORS = {f"org.freedesktop.DBus.Error.{name}" for name in (
    "ServiceUnknown", "NameHasNoOwner", "UnknownMethod", "UnknownObject")}


def _dbus_name(error: BaseException) -> str | None:
    """The D-Bus error name behind `error` (ServiceUnknown, NoReply, ...), if there is one."""
    seen: BaseException | None = error
    while seen is not None:
        name = getattr(seen, "name", None)
        if isinstance(name, str) and name.startswith("org.freedesktop."):
            return name
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(error: BaseException) -> str:
    """The error's type and its D-Bus error name, which says what happened. Never the message:
    a backend might quote what it was given."""
    name = _dbus_name(error)
    return f"{type(error).__name__}: {name}" if name else type(error).__name__


def _import_keyring() -> None:
    """Load keyring (and what the store uses of it) here, never in a bounded thread, where an
    abandoned import would hold the import lock. Raises StoreError."""
    try:
        import keyring  # noqa: F401
        import keyring.backends.fail  # noqa: F401
        import keyring.backends.SecretService  # noqa: F401
        import keyring.errors  # noqa: F401
    except Exception as e:
        raise StoreError(f"the keyring library cannot be loaded ({type(e).__name__})",
                         f"reinstall xaccount-credproc, {KEYRING_FIX}") from None


def _first_writer(backend):
    """The backend that takes writes: keyring's chainer writes to its first backend."""
    if type(backend).__name__ == "ChainerBackend":
        chained = getattr(backend, "backends", None) or [backend]
        return chained[0]
    return backend


def _is_empty_chain(backend) -> bool:
    return type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", True)


def keyring_uses_secret_service() -> bool:
    """Whether keyring would use its Secret Service backend (as far as can be told cheaply)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
    if chosen is not None:
        return chosen == KEYRING_SECRET_SERVICE
    return keyring_unconfigured()


def keyring_unconfigured() -> bool:
    """Whether keyring picks its backend by itself: no PYTHON_KEYRING_BACKEND, and no
    keyringrc.cfg, which may name another backend (don't second-guess it). Both the store's choice
    (backends/) and the Secret Service fast path ask."""
    if os.environ.get("PYTHON_KEYRING_BACKEND") is not None:
        return False
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return not os.path.exists(os.path.join(config_home, "python_keyring", "keyringrc.cfg"))
