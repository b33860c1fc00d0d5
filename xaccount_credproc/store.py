"""The OS keyring as a store of named strings, through `keyring`.

Every write and every authoritative read goes through keyring, so entries stay readable and
writable on every platform keyring supports. Reads first try the read-only Secret Service
fast path (secret_service.py), which answers only when it finds exactly what keyring wrote.
Keyring trouble becomes a `StoreError` that says what is wrong and how to fix it; the caller turns
it into a warning and carries on without the cache.
"""

import os

from . import debug

SERVICE = "xaccount-credproc"
KEYRING_FIX = 'or set cache = "none" in the config to stop using the keyring'
# A keyring call that takes longer is given up on: a hung daemon must not hang `aws`.
TIMEOUT = 3.0


class StoreError(Exception):
    def __init__(self, what: str, fix: str, decode_error: bool = False):
        super().__init__(what)
        self.what, self.fix = what, fix
        self.decode_error = decode_error  # the backend found a value that is not text

    def __str__(self) -> str:
        return f"{self.what}; {self.fix}"


class KeyringStore:
    def __init__(self, service: str = SERVICE, timeout: float | None = None):
        self.service = service
        self.timeout = TIMEOUT if timeout is None else timeout
        self._keyring = None
        self._stuck: StoreError | None = None

    def _backend(self):
        if self._keyring is None:
            try:
                import keyring
                import keyring.errors  # noqa: F401 - imported here, never in a bounded thread
                from keyring.backends import fail
            except Exception as e:
                raise StoreError(f"the keyring library cannot be loaded ({type(e).__name__})",
                                 f"reinstall xaccount-credproc, {KEYRING_FIX}") from None
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
                raise StoreError(
                    "no OS keyring is available, so credentials are not cached",
                    "start a Secret Service (gnome-keyring, KeePassXC) in your session, "
                    + KEYRING_FIX)
            debug.log(f"keyring backend: {type(backend).__module__}.{type(backend).__name__}")
            self._keyring = backend
        return self._keyring

    def get_many(self, names: list[str]) -> list[str | None]:
        """The stored values (None where missing). The fast path answers only when it finds
        every name; a miss there is confirmed through keyring, which may use another backend."""
        if not names:
            return []
        from . import secret_service

        try:
            values = secret_service.read(self.service, names)
        except secret_service.Unusable as e:
            # keyring would talk to the same peer, without bounds: don't ask it.
            what = (f"did not answer within {secret_service.TIMEOUT:g}s"
                    if isinstance(e, secret_service.NoAnswer) else "sent a malformed D-Bus reply")
            self._stuck = StoreError(
                f"the Secret Service {what}, so credentials are not cached", "its daemon "
                f"(gnome-keyring, KWallet) may be hung or broken: restart it, {KEYRING_FIX}")
            raise self._stuck from None
        if values is not None and None not in values:
            return values
        debug.log("keyring lookup (the Secret Service fast path had no answer)")
        backend = self._backend()
        return [self._read_one(backend, name) for name in names]

    def _read_one(self, backend, name: str) -> str | None:
        try:
            return self._call("reading", backend.get_password, self.service, name)
        except StoreError as e:
            if e.decode_error:
                return ""  # an entry that is not text: a miss, overwritten by the next fetch
            raise

    def set(self, name: str, value: str) -> None:
        self._call("writing", self._backend().set_password, self.service, name, value)

    def delete(self, name: str) -> bool:
        from keyring.errors import PasswordDeleteError

        backend = self._backend()
        try:
            self._call("deleting", backend.delete_password, self.service, name)
        except PasswordDeleteError:
            return False
        return True

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
    seen = error
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


def _is_empty_chain(backend) -> bool:
    return type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", True)
