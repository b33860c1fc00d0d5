"""`vault init|status|lock|passwd|reset|migrate`: the encrypted file that keeps stored sources
where no desktop keyring answers (backends/vault.py), unlocked once per boot
(unlock.py)."""

import os
import sys

from ...backends import vault as vaults
from ...config import VaultSettings
from ...errors import ConfigError, UserError
from . import derived_key, unlock

STDIN_TIMEOUT = 60


def _settings(config_path: str) -> VaultSettings:
    from ...config import loader

    if not os.path.exists(config_path):
        return VaultSettings()
    return loader.load(config_path, lenient=True).vault_settings()


def _new_passphrase(settings: VaultSettings, path: str, use_process: bool) -> str:
    """A new passphrase: from passphrase_process or the environment (init only), typed twice
    at a terminal, else one line on stdin."""
    from ...prompt.passphrase import ENV, MIN_LENGTH, PassphraseSource
    from ...prompt.terminal import open_terminal

    source = PassphraseSource(settings.passphrase_process if use_process else None, path)
    fd = open_terminal("/dev/tty")
    if fd is not None:
        os.close(fd)
    if (use_process and (os.environ.get(ENV) or source.process)) or fd is not None:
        passphrase = source.ask("New vault passphrase", confirm=True)
    else:
        passphrase = _stdin_line()
    if len(passphrase) < MIN_LENGTH:
        raise ConfigError(f"the passphrase has {len(passphrase)} characters, fewer than "
                          f"{MIN_LENGTH}", "choose a longer one (a few words)")
    return passphrase


def _stdin_line() -> str:
    from ...prompt.terminal import read_stdin

    if sys.stdin is None or sys.stdin.isatty():
        raise ConfigError("there is no terminal to ask for the new passphrase on, and stdin "
                          "holds none", "run it in a terminal, or pipe the passphrase to stdin")
    data, _ = read_stdin(1, STDIN_TIMEOUT, 4095)  # what came before the time ran out counts
    line = data.decode("utf-8", "replace").split("\n", 1)[0].strip()
    if not line:
        raise ConfigError(f"no passphrase on stdin within {STDIN_TIMEOUT}s",
                          "pipe it as one line, or run it in a terminal")
    return line


def init(config_path: str) -> tuple[str, list[str]]:
    """(the new vault's path, warnings). Raises UserError."""
    settings = _settings(config_path)
    path = vaults.default_path()
    if vaults.load(path) is not None:
        raise ConfigError(f"a vault exists already at {path}", "'vault passwd' changes its "
                          "passphrase; 'vault reset' starts over (its keys are lost)")
    passphrase = _new_passphrase(settings, path, use_process=True)
    vaults.make_directory(path)
    vault, key = vaults.new(path, passphrase)
    with vaults.locked(path):
        if vaults.load(path) is not None:
            raise ConfigError(f"a vault was made at {path} meanwhile", "use that one")
        vault.save()
    warnings: list[str] = []
    unlocker = unlock.Unlocker(settings, warnings)
    derived_key.remember(vault.id, key, unlocker.timeout, warnings)
    unlocker.migrate(path, key)
    return path, warnings


def status() -> list[str]:
    path = vaults.default_path()
    vault = vaults.load(path)
    if vault is None:
        return [f"vault: none at {path} ('xaccount-credproc vault init' makes one)"]
    kdf = vault.header["kdf"]
    state = derived_key.state(vault.id)
    lines = [f"vault: {path}",
             f"key derivation: Argon2id, {kdf['memory_kib'] // 1024} MiB, {kdf['iterations']} "
             f"passes, {kdf['lanes']} lane(s)", f"state: {state}",
             f"entries: {len(vault.entries)}"]
    lines += [f"  {name}" for name in sorted(vault.entries)]
    return lines


def lock() -> bool:
    vault = vaults.load(vaults.default_path())
    return vault is not None and derived_key.forget(vault.id)


def _opened(settings: VaultSettings, warnings: list[str]):
    path = vaults.default_path()
    vault = vaults.load(path)
    if vault is None:
        raise ConfigError(f"there is no vault at {path}", "create it with 'xaccount-credproc "
                          "vault init'")
    return vault, unlock.Unlocker(settings, warnings)(vault)


def passwd(config_path: str) -> list[str]:
    """Re-encrypt every entry under a new passphrase (a new salt): the old file or the new one,
    never a mix, whenever it is killed. Returns warnings."""
    settings = _settings(config_path)
    warnings: list[str] = []
    vault, old_key = _opened(settings, warnings)
    passphrase = _new_passphrase(settings, vault.path, use_process=False)
    with vaults.locked(vault.path):
        current = vaults.load(vault.path)
        if current is None:
            raise ConfigError(f"the vault {vault.path} was removed meanwhile (vault reset); "
                              "nothing was changed", "create a new one with 'xaccount-credproc "
                              "vault init'")
        vault = current
        vault.verify(old_key)  # still the vault we opened
        fresh, key = vault.rekeyed(old_key, passphrase)
        fresh.save()
    derived_key.forget(vault.id)
    derived_key.remember(fresh.id, key, unlock.Unlocker(settings).timeout, warnings)
    return warnings


def reset(confirmed: bool) -> str:
    path = vaults.default_path()
    try:
        vault = vaults.load(path)
    except vaults.VaultError:
        vault = None  # damaged: exactly what a reset is for
        if not os.path.exists(path):
            raise
    if vault is None and not os.path.exists(path):
        raise ConfigError(f"there is no vault at {path}", "nothing to reset")
    if not confirmed:
        _confirm(path, sorted(vault.entries) if vault else [])
    with vaults.locked(path):
        os.unlink(path)
    if vault is not None:
        derived_key.forget(vault.id)
    return path


def _confirm(path: str, names: list[str]) -> None:
    from ...prompt.terminal import open_terminal, prompt_timeout, read_line

    fd = open_terminal("/dev/tty")
    if fd is None:
        raise ConfigError("vault reset deletes every key in the vault and needs a confirmation",
                          "run it in a terminal, or pass --yes")
    lost = ", ".join(names) or "no entries"
    with open(fd, "r+b", buffering=0) as tty:
        tty.write(f"This deletes {path} and the keys in it ({lost}).\n".encode())
        try:
            answer = read_line(tty, "Type 'reset' to go on: ", prompt_timeout(), hidden=False,
                               what="confirmation")
        except UserError as e:
            raise ConfigError(e.what, e.fix) from None
    if answer != "reset":
        raise ConfigError("vault reset not confirmed; nothing was changed",
                          "type 'reset' to confirm")


def migrate(config_path: str) -> tuple[list[str], list[str]]:
    settings = _settings(config_path)
    warnings: list[str] = []
    vault, key = _opened(settings, warnings)
    moved = unlock.Unlocker(settings, warnings).migrate(vault.path, key)
    return moved, warnings
