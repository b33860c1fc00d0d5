"""Where the vault's passphrase comes from, in this order: XACCOUNT_CREDPROC_VAULT_PASSPHRASE
(for CI only: an environment is readable by the user's other processes), `passphrase_process` of
the TOML's [vault] table (e.g. `pass show aws/vault`), the terminal (echo off), a desktop dialog.
The same chain and bounds as MFA codes (mfa.py); the passphrase is never logged, never put on a
command line, and never handed to a child's environment (process.child_environment drops the
variable). Leading and trailing whitespace is not part of a passphrase.
"""

import os

from ..errors import ConfigError, UserError
from .terminal import open_terminal, prompt_timeout, read_line

ENV = "XACCOUNT_CREDPROC_VAULT_PASSPHRASE"
PROCESS_TIMEOUT = 120
MIN_LENGTH = 8


class NoPassphrase(UserError):
    """No passphrase could be had (nowhere to ask, cancelled, timed out)."""

    exit_code = 2


class PassphraseSource:
    def __init__(self, process: str | None, vault_path: str, tty_path: str = "/dev/tty",
                 terminal: bool = True):
        self.process = process
        self.vault_path = vault_path
        self.tty_path = tty_path
        self.terminal = terminal
        self.via: str | None = None  # where the last answer came from

    @property
    def interactive(self) -> bool:
        """Whether asking again can give another answer (a person typing)."""
        return not os.environ.get(ENV) and not self.process

    def ask(self, text: str, confirm: bool = False) -> str:
        """A passphrase; with `confirm` (a new one, from a person), typed twice."""
        if os.environ.get(ENV):
            self.via = ENV
            return os.environ[ENV].strip()
        if self.process:
            self.via = "passphrase_process"
            return self._from_process()
        fd = open_terminal(self.tty_path) if self.terminal else None
        if fd is not None:
            self.via = "the terminal"
            return self._from_terminal(fd, text, confirm)
        from . import dialog as dialogs

        dialog = dialogs.find_dialog()
        if dialog is None:
            raise NoPassphrase(f"the vault {self.vault_path} needs its passphrase, but there is "
                               "no terminal, no desktop dialog and no passphrase_process",
                               "set passphrase_process in the [vault] table of the config "
                               "(e.g. \"pass show aws/vault\"), or run 'xaccount-credproc vault "
                               "status' once in a terminal to unlock it")
        self.via = "a dialog"
        first = self._from_dialog(dialog, text)
        if confirm and self._from_dialog(dialog, "Type it again.") != first:
            raise NoPassphrase("the two passphrases differ", "run the command again")
        return first

    def _from_process(self) -> str:
        import shlex

        from .process import OutputTooLarge, run_bounded

        try:
            result = run_bounded(shlex.split(self.process), PROCESS_TIMEOUT)
        except OutputTooLarge:
            raise NoPassphrase("passphrase_process printed too much; it was stopped",
                               "it must print only the passphrase") from None
        except TimeoutError:
            raise NoPassphrase(f"passphrase_process did not finish in {PROCESS_TIMEOUT}s",
                               "check the command in the [vault] table") from None
        except OSError as e:
            raise ConfigError(f"passphrase_process could not be started ({e.strerror})",
                              "fix passphrase_process in the [vault] table") from None
        if result.returncode != 0:
            raise NoPassphrase(f"passphrase_process exited with status {result.returncode}",
                               "run it by hand to see why")
        lines = result.stdout.decode("utf-8", "replace").splitlines()
        passphrase = lines[0].strip() if lines else ""  # `pass show` prints it first
        if not passphrase:
            raise NoPassphrase("passphrase_process printed no passphrase",
                               "it must print the passphrase on its first line")
        return passphrase

    def _from_terminal(self, fd: int, text: str, confirm: bool) -> str:
        from ..errors import MfaError

        timeout = prompt_timeout()
        with open(fd, "r+b", buffering=0) as tty:
            try:
                first = read_line(tty, f"{text}: ", timeout, what="vault passphrase")
                if confirm and read_line(tty, "Type it again: ", timeout,
                                         what="vault passphrase") != first:
                    raise NoPassphrase("the two passphrases differ", "run the command again")
            except MfaError as e:  # timed out, end of input, a signal
                error = NoPassphrase(e.what, e.fix)
                error.exit_code = getattr(e, "exit_code", 2)
                raise error from None
        return first

    def _from_dialog(self, dialog, text: str) -> str:
        from ..errors import MfaError
        from . import dialog as dialogs

        try:
            return dialogs.ask(dialog, "xaccount-credproc vault",
                               f"{text}\n\nVault: {self.vault_path}", prompt_timeout()).strip()
        except MfaError as e:
            raise NoPassphrase(e.what.replace("MFA code", "vault passphrase"), e.fix) from None
