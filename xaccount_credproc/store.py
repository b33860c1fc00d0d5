"""The OS keyring as a store of named strings, through `keyring`.

Every write and every authoritative read goes through keyring, so entries stay readable and
writable on every platform keyring supports. Reads first try the read-only Secret Service
fast path (secret_service.py), which answers only when it finds exactly what keyring wrote.
Keyring trouble becomes a `StoreError` that says what is wrong and how to fix it; the caller turns
it into a warning and carries on without the cache.
"""

from . import debug

SERVICE = "xaccount-credproc"
KEYRING_FIX = 'or set cache = "none" in the config to stop using the keyring'


class StoreError(Exception):
    def __init__(self, what: str, fix: str):
        super().__init__(what)
        self.what, self.fix = what, fix

    def __str__(self) -> str:
        return f"{self.what}; {self.fix}"


class KeyringStore:
    def __init__(self, service: str = SERVICE):
        self.service = service
        self._keyring = None

    def _backend(self):
        if self._keyring is None:
            try:
                import keyring
                from keyring.backends import fail
            except Exception as e:
                raise StoreError(f"the keyring library cannot be loaded ({type(e).__name__})",
                                 f"reinstall xaccount-credproc, {KEYRING_FIX}") from None
            backend = keyring.get_keyring()
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

        values = secret_service.read(self.service, names)
        if values is not None and None not in values:
            return values
        debug.log("keyring lookup (the Secret Service fast path had no answer)")
        backend = self._backend()
        return [self._call(backend.get_password, self.service, name) for name in names]

    def set(self, name: str, value: str) -> None:
        self._call(self._backend().set_password, self.service, name, value)

    def delete(self, name: str) -> bool:
        from keyring.errors import PasswordDeleteError

        try:
            self._call(self._backend().delete_password, self.service, name)
        except PasswordDeleteError:
            return False
        return True

    @staticmethod
    def _call(function, *args):
        from keyring.errors import KeyringLocked, PasswordDeleteError

        try:
            return function(*args)
        except PasswordDeleteError:
            raise
        except KeyringLocked:
            raise StoreError("the OS keyring is locked, so credentials are not cached",
                             "unlock it (log in to your desktop session, or run "
                             f"'gnome-keyring-daemon --unlock'), {KEYRING_FIX}") from None
        except Exception as e:  # backends raise many types (D-Bus, OS errors, size limits)
            raise StoreError(f"the OS keyring failed ({type(e).__name__}), so credentials are "
                             "not cached", f"check that your keyring works, {KEYRING_FIX}") from None


def _is_empty_chain(backend) -> bool:
    return type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", True)
