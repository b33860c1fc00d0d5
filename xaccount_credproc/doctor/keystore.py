"""doctor: the keyring each profile's cache uses, by a real round trip, and the kernel quota."""

import secrets
import time

from .check import FAIL, OK, WARN, Check


def keyring(profiles) -> list[Check]:
    from ..backends import StoreError, store_named
    from ..config import Profile

    default = Profile.SETTINGS["keyring_backend"].default
    choices = sorted({p.keyring_backend for p in profiles if p.cache != "none"})
    if not choices:
        return [Check(OK, 'keyring: not used (cache = "none" everywhere)')]
    checks = []
    for choice in choices:
        setting = "" if choice == default else f' (keyring_backend = "{choice}")'
        store = store_named(choice)
        name = f"doctor/{secrets.token_hex(4)}"
        value = secrets.token_hex(16)
        try:
            label = store.describe()
            store.set(name, value, expires=int(time.time()) + 60)
            read = store.get_many([name])[0]
            store.delete(name)
            volatile = store.traits().volatile
        except StoreError as e:
            checks.append(Check(FAIL, f"keyring{setting}: {e.what}", e.fix))
            continue
        if read != value:
            checks.append(Check(FAIL, f"keyring {label}{setting}: an entry written could not be "
                                      "read back", 'check the keyring, or set cache = "none"'))
            continue
        checks.append(Check(OK, f"keyring {label}{setting}: unlocked, an entry round-trips"))
        if volatile:
            checks.append(_kernel_quota())
    return checks


def _kernel_quota() -> Check:
    """How much of the uid's kernel key quota is in use, and how much of it is ours."""
    from ..backends import SERVICE, kernel_keys, keyctl

    try:
        entries = kernel_keys.KernelKeys(SERVICE).entries(include_expired=True)
    except keyctl.KernelKeyringError as e:
        return Check(WARN, f"kernel keyring: cannot list entries ({e})", "check 'keyctl show @u'")
    mine = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} of this tool, " \
           f"{sum(e.size for e in entries)} bytes"
    now = kernel_keys.usage()
    if now is None:
        return Check(OK, f"kernel keyring quota: unknown (no /proc/key-users); {mine}")
    text = (f"kernel keyring quota: {now.bytes} of {now.max_bytes} bytes and {now.keys} of "
            f"{now.max_keys} keys in use ({mine})")
    if now.bytes > 0.8 * now.max_bytes or now.keys > 0.8 * now.max_keys:
        return Check(WARN, text + "; nearly full, so new credentials may not be cached (each "
                           "such command then calls STS)",
                     "raise it: sysctl kernel.keys.maxbytes=100000 kernel.keys.maxkeys=1000")
    return Check(OK, text)


def vault(loaded) -> list[Check]:
    """The vault file (never opened: no passphrase is asked), and sources that would be lost
    at reboot."""
    from ..backends import forgets_at_reboot
    from ..backends import vault as vaults
    from ..config import model
    from ..credentials.stored import derived_key

    path = vaults.default_path()
    needed = sorted(n for n in loaded.sources
                    if model.source(loaded, n).keyring_backend == "vault")
    checks = [Check(WARN, f"source '{n}' is kept in the kernel keyring, which forgets it at "
                          "reboot", 'set keyring_backend = "vault" for it and run '
                                    "'xaccount-credproc vault migrate'")
              for n in sorted(loaded.sources)
              if forgets_at_reboot(model.source(loaded, n).keyring_backend)]
    try:
        found = vaults.load(path)
    except vaults.VaultError as e:
        return [*checks, Check(FAIL, f"vault: {e.what}", e.fix)]
    if found is None:
        if needed:
            return [*checks, Check(FAIL, f"vault: none at {path}, but source(s) "
                                         f"{', '.join(needed)} are kept in it",
                                   "create it with 'xaccount-credproc vault init' and store "
                                   "their keys again")]
        return [*checks, Check(OK, f"vault: none at {path} (only needed where no desktop "
                                   "keyring answers)")]
    state = derived_key.state(found.id, "%H:%M")
    if state == "locked":
        state = "locked (the next command that needs a stored key asks for the passphrase)"
    kdf = found.header["kdf"]
    return [*checks, Check(OK, f"vault {path}: {state}, {len(found.entries)} entries, "
                               f"Argon2id {kdf['memory_kib'] // 1024} MiB")]
