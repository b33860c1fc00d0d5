"""Where MFA codes come from: `mfa_process`, else a person at the controlling terminal or, where
there is none (IDEs, desktop apps), at a desktop dialog (dialog.py and one module per driver).

botocore runs credential_process with stdout and stderr as pipes, so a prompt on stderr is invisible
until we exit. The prompt therefore goes to the terminal itself (/dev/tty) or to a dialog, and
where there is neither we fail at once instead of hanging the caller. Every prompt runs under the
fetch's lock, so parallel callers see one prompt. Codes are never logged or put in messages.
"""

import os
import re
import sys

from ..errors import MfaError
from .terminal import open_terminal, prompt_timeout, read_line

CODE_RE = re.compile(r"\d{6}", re.ASCII)
TERMINAL_TRIES = 3
PROCESS_TIMEOUT = 120
# When mfa_process prints the code that was just used (AWS takes each code once), it is asked
# again until it prints the device's next code: at most one TOTP step.
NEXT_CODE_WAIT = 30.0
STEP = 30
# After this long without an answer, a mfa_process is probably waiting for a security key touch.
SLOW_PROCESS = 1.0


class NoValidCode(MfaError):
    """Every try gave something that is not 6 digits."""


class MfaCodeSource:
    """Asks for MFA codes for one device, for one profile: `mfa_process` when set, else a person
    (`mfa_prompt`: "terminal", "dialog", or "auto": the terminal when there is one, else a
    desktop dialog when a desktop session is reachable, else a clear failure)."""

    def __init__(self, serial: str, profile_name: str, mfa_process: str | None,
                 tty_path: str = "/dev/tty", prompt: str = "auto", role_arn: str | None = None,
                 terminal: bool = True):
        self.serial = serial
        self.profile_name = profile_name
        self.mfa_process = mfa_process
        self.tty_path = tty_path
        self.prompt = prompt
        self.role_arn = role_arn
        # False for the credential server: a daemon's terminal (if any) is nobody's to ask on.
        self.terminal = terminal
        self.asked = 0

    @property
    def interactive(self) -> bool:
        """Whether asking again can give a different answer (a person at a terminal or dialog)."""
        return not self.mfa_process

    def code(self, rejected: bool = False, avoid: str | None = None) -> str:
        """A well-formed code. `rejected`: AWS refused the previous one, say so when asking.
        `avoid`: the code just used (AWS takes each once): get the device's next one instead."""
        self.asked += 1
        if self.mfa_process:
            return self._next_from_process(avoid)
        if sys.platform == "win32" and self.prompt != "dialog":  # pragma: no cover
            return self._from_windows_console(rejected, avoid)
        fd = open_terminal(self.tty_path) if self.prompt != "dialog" and self.terminal else None
        if fd is not None:
            return self._from_terminal(fd, rejected, avoid)
        if self.prompt == "terminal":
            raise MfaError(f"profile '{self.profile_name}' needs an MFA code but there is no "
                           "terminal to ask on (mfa_prompt = \"terminal\")",
                           "set mfa_prompt = \"auto\" for a desktop dialog, set mfa_process, or "
                           "run it in a terminal")
        from . import dialog as dialogs

        dialog = dialogs.find_dialog()
        if dialog is None:
            raise MfaError(*self.nowhere_to_ask())
        try:
            return self._from_dialog(dialog, rejected, avoid)
        except dialogs.DialogUnavailable:
            # Not a Cancel: the dialog never showed. The next way to ask is the terminal, which
            # mfa_prompt = "dialog" skipped; with none, the error names the display.
            fd = (open_terminal(self.tty_path) if self.prompt == "dialog" and self.terminal
                  else None)
            if fd is None:
                raise
            return self._from_terminal(fd, rejected, avoid)

    def nowhere_to_ask(self) -> tuple[str, str]:
        """(what, fix) when there is neither a terminal nor a desktop dialog."""
        from .dialog import desktop_session

        where = ("no desktop dialog program (zenity or kdialog)" if desktop_session()
                 else "no desktop session (DISPLAY or WAYLAND_DISPLAY)")
        return (f"profile '{self.profile_name}' needs an MFA code but there is no terminal to ask "
                f"on and {where}", "set mfa_process in the config (e.g. an OTP tool or 'ykman "
                "oath accounts code'), run it from a desktop session with zenity or kdialog, or "
                f"run 'xaccount-credproc credential-process --profile {self.profile_name}' once "
                "in a terminal (the MFA session then serves the rest)")

    def _from_process(self) -> str:
        import shlex

        from .process import MAX_OUTPUT, OutputTooLarge, run_bounded

        try:
            result = run_bounded(shlex.split(self.mfa_process), PROCESS_TIMEOUT,
                                 on_slow=self._tell_slow, slow_after=SLOW_PROCESS)
        except OutputTooLarge:
            raise MfaError(f"mfa_process for profile '{self.profile_name}' printed more than "
                           f"{MAX_OUTPUT // 1024} KiB; it was stopped",
                           "it must print only the 6-digit code on stdout") from None
        except FileNotFoundError:
            raise MfaError(f"mfa_process for profile '{self.profile_name}' could not be started "
                           "(command not found)", "fix mfa_process in the config") from None
        except TimeoutError:
            raise MfaError(f"mfa_process for profile '{self.profile_name}' did not finish in "
                           f"{PROCESS_TIMEOUT}s", "check the command, or remove mfa_process to be "
                           "asked on the terminal") from None
        except OSError as e:
            raise MfaError(f"mfa_process for profile '{self.profile_name}' failed to start: "
                           f"{e.strerror}", "fix mfa_process in the config") from None
        if result.returncode != 0:
            raise MfaError(f"mfa_process for profile '{self.profile_name}' exited with status "
                           f"{result.returncode}", "run it by hand to see why")
        code = result.stdout.decode("utf-8", "replace").strip()
        if not CODE_RE.fullmatch(code):
            raise MfaError(f"mfa_process for profile '{self.profile_name}' did not print a 6-digit "
                           "code", "it must print only the code on stdout")
        return code

    def _next_from_process(self, avoid: str | None) -> str:
        """mfa_process's code; when it prints `avoid` (just used), asked again after the TOTP
        step ends, then every 2 s, for NEXT_CODE_WAIT at most (each run may want a touch)."""
        import time

        from .. import debug

        code = self._from_process()
        if avoid is None or code != avoid:
            return code
        started = time.monotonic()
        deadline = started + NEXT_CODE_WAIT
        message = (f"the MFA code for profile {self.profile_name} was just used, and AWS takes "
                   f"each code once: waiting up to {NEXT_CODE_WAIT:.0f}s for the device's next "
                   "code")
        debug.log(message)
        self._say("Waiting for the next MFA code", message, desktop=False)
        next_step = STEP - time.time() % STEP + 0.5
        time.sleep(max(0.0, min(next_step, deadline - time.monotonic() - 0.1)))
        while True:
            code = self._from_process()
            if code != avoid:
                debug.log(f"mfa_process gave the next code after {time.monotonic() - started:.1f}s")
                return code
            if time.monotonic() + 2 > deadline:
                raise MfaError(f"mfa_process for profile '{self.profile_name}' printed the code "
                               f"that was just used for {NEXT_CODE_WAIT:.0f}s, and AWS takes each "
                               "code once", "make it print the device's current code (a TOTP "
                               "tool), or try again in a minute")
            time.sleep(2)

    def _tell_slow(self) -> None:
        """mfa_process is taking a while: most likely a security key waiting for a touch."""
        self._say("Touch your security key", f"touch your security key for profile "
                  f"{self.profile_name} (xaccount-credproc is waiting for mfa_process)")

    def _say(self, title: str, message: str, desktop: bool = True) -> None:
        """A line on the terminal, if there is one; a desktop notification too (`desktop`)."""
        from .notify import notify

        fd = open_terminal(self.tty_path)
        if fd is not None:
            try:
                os.write(fd, f"xaccount-credproc: {message}\r\n".encode())
            except OSError:
                pass
            finally:
                os.close(fd)
        if desktop:
            notify(title, message)

    def _three_tries(self, rejected: bool, ask, avoid: str | None = None) -> str:
        """`ask(note)` until it gives 6 digits other than `avoid` (the code just used),
        TERMINAL_TRIES times at most; `note` tells the person why they are asked again."""
        note = ("AWS rejected that code. " if rejected else
                "The last code was just used: wait for the next one. " if avoid else "")
        for _ in range(TERMINAL_TRIES):
            code = ask(note).strip()
            if CODE_RE.fullmatch(code) and code != avoid:
                return code
            note = ("That code was just used (AWS takes each code once): wait for the next "
                    "one. " if CODE_RE.fullmatch(code) else "That is not 6 digits. ")
        raise NoValidCode(f"no valid MFA code for profile '{self.profile_name}' after "
                          f"{TERMINAL_TRIES} tries", "enter the 6 digits your device shows")

    def _from_terminal(self, fd: int, rejected: bool, avoid: str | None = None) -> str:
        timeout = prompt_timeout()
        with open(fd, "r+b", buffering=0) as tty:
            try:
                return self._three_tries(rejected, lambda note: read_line(
                    tty, f"{note}MFA code for {self.serial} (profile {self.profile_name}): ",
                    timeout), avoid)
            except NoValidCode:
                tty.write(b"No valid MFA code entered.\n")
                raise

    def _from_dialog(self, dialog, rejected: bool, avoid: str | None = None) -> str:
        from . import dialog as dialogs

        timeout = prompt_timeout()
        title = f"MFA code for profile {self.profile_name}"
        role = f"Role: {self.role_arn}\n" if self.role_arn else ""
        return self._three_tries(rejected, lambda note: dialogs.ask(
            dialog, title, f"{note}Enter the 6-digit code of your MFA device.\n\n{role}"
                           f"MFA device: {self.serial}", timeout), avoid)

    def _from_windows_console(self, rejected: bool, avoid: str | None) -> str:  # pragma: no cover
        import getpass

        return self._three_tries(rejected, lambda note: getpass.getpass(
            f"{note}MFA code for {self.serial}: "), avoid)
