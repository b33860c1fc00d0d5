"""Any backend of the keyring library as a store: `KeyringLibraryStore` (macOS Keychain,
Windows Credential Manager, the Secret Service through keyring, whatever keyring chooses), every
call bounded, every error made a StoreError that says what to do.

keyring has no timeouts of its own, and a hung daemon (stopped, deadlocked, waiting on a dialog
nobody sees) would hang every `aws` command: each call runs in a helper thread and is given up on
after `timeout` seconds (`Bounds`); the store is not used again in that process. Never imported
on a cache hit that a fast path answered.
"""

import os
import sys

from .. import debug
from ..errors import StoreError
from .store import DURABLE, KEYRING_FIX, Traits

# What the bus answers when no one owns org.freedesktop.secrets (a killed or absent daemon).
NO_SERVICE_ERRORS = {f"org.freedesktop.DBus.Error.{name}" for name in (
    "ServiceUnknown", "NameHasNoOwner", "UnknownMethod", "UnknownObject")}


class Bounds:
    """Calls into keyring, each in a helper thread given up on after `timeout` seconds. A thread
    that did not come back is left behind (a daemon thread: it does not keep the process alive)
    and every later call fails at once."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.stuck: StoreError | None = None

    def call(self, doing: str, function, *args):
        if self.stuck is not None:
            raise self.stuck
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
            self.stuck = StoreError(
                f"the OS keyring did not answer within {self.timeout:g}s ({doing})",
                f"its daemon may be hung: restart it (or log out and in), {KEYRING_FIX}")
            raise self.stuck
        ok, value = outcome[0]
        if not ok:
            raise value
        return value


def choose(bounds: Bounds):
    """The backend keyring chooses (its own rules, PYTHON_KEYRING_BACKEND, keyringrc.cfg).
    Raises StoreError when it has none to offer."""
    _import_keyring()
    import keyring
    from keyring.backends import fail

    try:
        backend = bounds.call("choosing a backend", keyring.get_keyring)
    except StoreError:
        raise
    except Exception as e:  # e.g. PYTHON_KEYRING_BACKEND naming a missing module
        chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
        where = (f"PYTHON_KEYRING_BACKEND={chosen!r}" if chosen
                 else "keyring's configuration (keyringrc.cfg)")
        raise StoreError(f"the keyring backend named by {where} cannot be loaded "
                         f"({type(e).__name__})", f"fix or unset it, {KEYRING_FIX}") from None
    if isinstance(backend, fail.Keyring) or _is_empty_chain(backend):
        kernel = ""
        if sys.platform.startswith("linux"):
            from . import kernel_keys

            kernel = f"; the kernel keyring: {kernel_keys.available() or 'not chosen'}"
        raise StoreError(f"no OS keyring is available (no Secret Service answers{kernel})",
                         "start a Secret Service (gnome-keyring, KeePassXC) in your session, "
                         + KEYRING_FIX)
    debug.log(f"keyring backend: {type(backend).__module__}.{type(backend).__name__}")
    return backend


def secret_service_backend(bounds: Bounds):
    """keyring's SecretService backend, if a Secret Service answers. Raises StoreError."""
    _import_keyring()
    from keyring.backends import SecretService

    try:
        bounds.call("looking for the Secret Service", lambda: SecretService.Keyring.priority)
    except StoreError:
        raise
    except Exception:
        raise StoreError('keyring_backend = "secret-service", but no Secret Service answers '
                         "on the session bus", "start one (gnome-keyring, KeePassXC, KWallet) or "
                         'set keyring_backend = "auto", ' + KEYRING_FIX) from None
    return SecretService.Keyring()


class KeyringLibraryStore:
    """A keyring backend (`backend`) as a SecretStore (store.py)."""

    def __init__(self, backend, service: str, bounds: Bounds):
        self.backend, self.service, self.bounds = backend, service, bounds

    def where(self) -> str:
        return "the OS keyring"

    def traits(self) -> Traits:
        return DURABLE

    def describe(self) -> str:
        writer = first_writer(self.backend)  # keyring's chainer: the backend that takes writes
        return f"{type(writer).__module__}.{type(writer).__name__}"

    def get_many(self, names: list[str]) -> list[str | None]:
        return [self._read_one(name) for name in names]

    def _read_one(self, name: str) -> str | None:
        try:
            return self._call("reading", self.backend.get_password, self.service, name)
        except StoreError as e:
            if e.decode_error:
                return ""  # an entry that is not text: a miss, overwritten by the next fetch
            raise

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        self._call("writing", self.backend.set_password, self.service, name, value)

    def delete(self, name: str) -> bool:
        from keyring.errors import PasswordDeleteError

        try:
            self._call("deleting", self.backend.delete_password, self.service, name)
        except PasswordDeleteError:
            return False
        return True

    def _call(self, doing: str, function, *args):
        from keyring.errors import KeyringLocked, PasswordDeleteError

        try:
            return self.bounds.call(doing, function, *args)
        except (PasswordDeleteError, StoreError):
            raise
        except KeyringLocked:
            raise StoreError("the OS keyring is locked", "unlock it (log in to your desktop "
                             "session, or run 'gnome-keyring-daemon --unlock'), "
                             + KEYRING_FIX) from None
        except Exception as e:  # backends raise many types (D-Bus, OS errors, size limits)
            if _dbus_name(e) in NO_SERVICE_ERRORS:
                raise StoreError(
                    "no Secret Service answers on the session bus (its daemon exited or was "
                    "never started)", "start it again (log out and in, or run "
                    "'gnome-keyring-daemon --start --components=secrets'), "
                    + KEYRING_FIX) from None
            raise StoreError(f"the OS keyring failed {doing} ({_describe(e)})",
                             f"check that your keyring works, {KEYRING_FIX}",
                             decode_error=isinstance(e, UnicodeDecodeError)) from None


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
    """Load keyring (and what the stores use of it) here, never in a bounded thread, where an
    abandoned import would hold the import lock. Raises StoreError."""
    try:
        import keyring  # noqa: F401
        import keyring.backends.fail  # noqa: F401
        import keyring.backends.SecretService  # noqa: F401
        import keyring.errors  # noqa: F401
    except Exception as e:
        raise StoreError(f"the keyring library cannot be loaded ({type(e).__name__})",
                         f"reinstall xaccount-credproc, {KEYRING_FIX}") from None


def first_writer(backend):
    """The backend that takes writes: keyring's chainer writes to its first backend."""
    if type(backend).__name__ == "ChainerBackend":
        chained = getattr(backend, "backends", None) or [backend]
        return chained[0]
    return backend


def _is_empty_chain(backend) -> bool:
    return type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", True)
