"""The vault's key, derived from its passphrase (never the passphrase), kept for a while in the
kernel user keyring with a timeout (`unlock_timeout` of [vault], 12 h by default): the kernel
drops it then, at reboot, or at `vault lock`. So the vault is unlocked once per boot."""

import base64
import time

SERVICE = "xaccount-credproc"


def _kernel_name(vault_id: str) -> str:
    return f"vault-key/{vault_id}"


def cached_key(vault_id: str) -> bytes | None:
    """The key kept in the kernel keyring for the vault `vault_id`, if any."""
    from ...backends import keyctl

    try:
        value = keyctl.read_value(SERVICE, _kernel_name(vault_id))
    except keyctl.KernelKeyringError:
        return None
    if not value:
        return None
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def remember(vault_id: str, key: bytes, seconds: int, warnings: list[str]) -> None:
    from ...backends import kernel_keys, keyctl

    why_not = kernel_keys.available()
    try:
        if why_not is not None:
            raise keyctl.Refused(why_not)
        kernel_keys.KernelKeys(SERVICE).set(_kernel_name(vault_id),
                                            base64.b64encode(key).decode(),
                                            int(time.time()) + seconds)
    except keyctl.KernelKeyringError as e:
        warnings.append(f"the vault's key cannot be kept in the kernel keyring ({e}), so the "
                        "passphrase is asked for again next time")


def forget(vault_id: str) -> bool:
    from ...backends import kernel_keys, keyctl

    try:
        return kernel_keys.KernelKeys(SERVICE).delete(_kernel_name(vault_id))
    except keyctl.KernelKeyringError:
        return False


def unlocked_until(vault_id: str) -> int | None:
    """When the kernel drops the cached key (epoch seconds), if it says."""
    from ...backends import kernel_keys, keyctl

    try:
        for entry in kernel_keys.KernelKeys(SERVICE).entries():
            if entry.name == _kernel_name(vault_id):
                return entry.expires
    except keyctl.KernelKeyringError:
        return None
    return None


def state(vault_id: str, clock: str = "%Y-%m-%d %H:%M:%S") -> str:
    """"locked", or "unlocked until TIME" (`clock` a strftime format), for status and doctor."""
    if cached_key(vault_id) is None:
        return "locked"
    until = unlocked_until(vault_id)
    return "unlocked" + (f" until {time.strftime(clock, time.localtime(until))}" if until else "")
