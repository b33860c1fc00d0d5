"""Unlocking the vault (backends/vault.py): the derived key kept for the boot (derived_key.py),
else one passphrase prompt (prompt/passphrase.py) for every caller of this user, under a lock, as
with MFA. A wrong passphrase is asked again when a person types it (3 tries in all); from
`passphrase_process` or the environment it fails at once.

On the first unlock, stored sources of `keyring_backend = "auto"` that an earlier version (or a
machine without a vault then) kept in the kernel keyring move into the vault, so a reboot no
longer loses them.
"""

import contextlib

from ... import debug
from ...config import VaultSettings
from ...errors import ConfigError
from .derived_key import SERVICE, cached_key, forget, remember

TRIES = 3


def _opening_key(vault) -> bytes | None:
    """The cached key if it opens `vault` (after `vault passwd`, or for a new vault, it does
    not)."""
    from ...backends.vault import WrongKey

    key = cached_key(vault.id)
    if key is None:
        return None
    try:
        vault.verify(key)
    except WrongKey:
        debug.log("the cached vault key does not open the vault")
        return None
    return key


class Unlocker:
    """`key_for(vault)` for backends.vault.VaultStore: the cached key, else one prompt under
    a lock shared by every caller of this user."""

    def __init__(self, settings: VaultSettings | None, warnings: list[str] | None = None,
                 terminal: bool = True):
        settings = settings or VaultSettings()
        self.process = settings.passphrase_process
        self.timeout = settings.unlock_timeout
        self.auto_sources = settings.auto_sources
        self.warnings = [] if warnings is None else warnings
        self.terminal = terminal
        self.asked = 0

    def __call__(self, vault) -> bytes:
        from .. import fetched_once

        def ask_once() -> bytes:
            forget(vault.id)  # a stale key, if any, goes
            key = self.ask(vault)
            remember(vault.id, key, self.timeout, self.warnings)
            self.migrate(vault.path, key)
            return key

        # Read again under the lock: a parallel caller may have just unlocked it.
        return fetched_once(f"vault-{vault.id}", "the vault's passphrase",
                            lambda: _opening_key(vault), ask_once, self.warnings)

    def ask(self, vault, text: str = "Passphrase of the xaccount-credproc vault") -> bytes:
        """The key from a passphrase, checked against `vault`; asked again (3 tries in all)
        when a person types a wrong one."""
        from ...backends.vault import WrongKey, derive
        from ...prompt.passphrase import PassphraseSource

        source = PassphraseSource(self.process, vault.path, terminal=self.terminal)
        note = ""
        for attempt in range(TRIES):
            self.asked += 1
            passphrase = source.ask(note + text)
            key = derive(passphrase, vault.header["kdf"])
            try:
                vault.verify(key)
                debug.log(f"vault unlocked with the passphrase from {source.via}")
                return key
            except WrongKey as e:
                if not source.interactive or attempt == TRIES - 1:
                    what = e.what + (f" (from {source.via})" if not source.interactive else "")
                    raise VaultLocked(what, e.fix) from None
                note = "Wrong passphrase. "
        raise AssertionError("unreachable")

    def migrate(self, path: str, key: bytes) -> list[str]:
        """Move the auto sources' keys from the kernel keyring into the vault (they would be
        lost at reboot there). Returns the names moved."""
        from ...backends import kernel_keys, keyctl
        from ...backends import vault as vaults
        from .keys import entry_name

        moved = []
        try:
            kernel = kernel_keys.KernelKeys(SERVICE)
            found = {}
            for name in self.auto_sources:
                for pending in (False, True):
                    entry = entry_name(name, pending)
                    value = keyctl.read_value(SERVICE, entry)
                    if value:
                        found[entry] = value
        except keyctl.KernelKeyringError:
            return []
        if not found:
            return []
        with vaults.locked(path):
            vault = vaults.load(path)
            if vault is None:  # removed meanwhile (vault reset): nothing to move into
                return []
            vault.verify(key)
            for entry, value in found.items():
                if entry not in vault.entries:
                    vault.put(key, entry, value)
            vault.save()
        for entry in found:
            with contextlib.suppress(keyctl.KernelKeyringError):
                kernel.delete(entry)
            moved.append(entry)
        self.warnings.append(f"moved {len(found)} stored key(s) from the kernel keyring into "
                             f"the vault {path}, where they survive a reboot")
        return moved


class VaultLocked(ConfigError):
    """The vault could not be opened (wrong passphrase, nowhere to ask)."""
