"""The Linux kernel keyring as a `keyring` backend.

Registered through the `keyring.backends` entry point, so keyring finds it by itself: it is viable
wherever the kernel lets this process use keys, with a priority below the Secret Service's (5),
so keyring picks it only when no Secret Service is reachable (SSH, WSL2, servers, containers).
Choose it explicitly with
PYTHON_KEYRING_BACKEND=xaccount_credproc.backends.kernel_keyring.KernelKeyring.

Entries live in the user keyring, shared by every session of the uid, in kernel memory only: they
do not survive a reboot, nor the end of the uid's last process (see README). Values stored
through keyring never expire; xaccount-credproc's own cache entries carry a kernel timeout at the
credentials' expiry (`set_password_until`).
"""

from keyring import backend, errors
from keyring.compat import properties

from . import kernel_keys, keyctl


class KernelKeyring(backend.KeyringBackend):
    """Linux kernel key retention service, user keyring (@u)"""

    @properties.classproperty
    def priority(cls) -> float:
        why_not = kernel_keys.available()
        if why_not is not None:
            raise RuntimeError(why_not)
        return 1

    def _keys(self, service: str) -> kernel_keys.KernelKeys:
        return kernel_keys.KernelKeys(service)

    def get_password(self, service: str, username: str) -> str | None:
        return self._keys(service).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.set_password_until(service, username, password, None)

    def set_password_until(self, service: str, username: str, password: str,
                           expires: int | None) -> None:
        """Store `password`; the kernel drops it at `expires` (epoch seconds), if given."""
        try:
            self._keys(service).set(username, password, expires)
        except keyctl.KernelKeyringError as e:
            raise errors.PasswordSetError(str(e)) from None

    def delete_password(self, service: str, username: str) -> None:
        if not self._keys(service).delete(username):
            raise errors.PasswordDeleteError("no such password in the kernel keyring")
