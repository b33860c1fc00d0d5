"""Where MFA codes come from: `mfa_process`, else the controlling terminal.

botocore runs credential_process with stdout and stderr as pipes, so a prompt on stderr is invisible
until we exit. The prompt therefore goes to the terminal itself (/dev/tty), and where there is no
terminal we fail at once instead of hanging the caller. Codes are never logged or put in messages.
"""

import os
import re
import sys

from .errors import MfaError

CODE_RE = re.compile(r"\d{6}", re.ASCII)
TERMINAL_TRIES = 3
PROCESS_TIMEOUT = 120
PROMPT_TIMEOUT = 120


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: have the kernel SIGKILL the child when the helper dies, even by SIGKILL."""
    import contextlib

    with contextlib.suppress(Exception):  # no prctl: the child simply runs unbound
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the helper died before prctl took effect
            os._exit(1)


def run_bounded(argv: list[str], timeout: float):
    """Run a program of the user's (stdin /dev/null, output captured) for at most `timeout`
    seconds. It runs in a process group of its own, so on a timeout it is killed with
    everything it started (a shell's children keep the pipes open otherwise), and on Linux it
    dies with the helper, even when the helper is killed with SIGKILL while holding a lock.
    Raises TimeoutError, and OSError when it cannot start."""
    import signal
    import subprocess

    linux = sys.platform.startswith("linux")
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=child_environment(),
                               process_group=0 if os.name == "posix" else None,
                               preexec_fn=_die_with_parent if linux else None)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError from None
    finally:
        # Only a child that did not finish: one that did may have started something meant to
        # outlive it (gpg-agent, a YubiKey daemon).
        if process.returncode is None:
            _kill_group(process, signal)
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _kill_group(process, signal) -> None:
    """Kill what is left of the child's process group, and reap the child."""
    import contextlib

    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    elif process.poll() is None:  # pragma: no cover - Windows
        process.kill()
    with contextlib.suppress(Exception):
        process.communicate(timeout=5)


def child_environment() -> dict[str, str]:
    """Our environment without the re-entry marker: a program we run to get a code is not
    resolving source credentials, and may itself run `aws` with a profile of ours."""
    from .sts import REENTRY_ENV

    return {k: v for k, v in os.environ.items() if k != REENTRY_ENV}


class MfaCodeSource:
    """Asks for MFA codes for one device, for one profile."""

    def __init__(self, serial: str, profile_name: str, mfa_process: str | None,
                 tty_path: str = "/dev/tty"):
        self.serial = serial
        self.profile_name = profile_name
        self.mfa_process = mfa_process
        self.tty_path = tty_path
        self.asked = 0

    @property
    def interactive(self) -> bool:
        """Whether asking again can give a different answer (a person at a terminal)."""
        return not self.mfa_process

    def code(self, rejected: bool = False) -> str:
        """A well-formed code. `rejected`: AWS refused the previous one, say so when asking."""
        self.asked += 1
        if self.mfa_process:
            return self._from_process()
        return self._from_terminal(rejected)

    def _from_process(self) -> str:
        import shlex

        try:
            result = run_bounded(shlex.split(self.mfa_process), PROCESS_TIMEOUT)
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

    def _from_terminal(self, rejected: bool) -> str:
        if sys.platform == "win32":  # pragma: no cover - no console here
            return self._from_windows_console(rejected)
        try:
            fd = os.open(self.tty_path, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            raise MfaError(
                f"profile '{self.profile_name}' needs an MFA code but there is no terminal to ask "
                "on", "set mfa_process in the config, or run "
                f"'xaccount-credproc credential-process --profile {self.profile_name}' in a "
                "terminal first") from None
        with open(fd, "r+b", buffering=0) as tty:
            note = "AWS rejected that code. " if rejected else ""
            for attempt in range(1, TERMINAL_TRIES + 1):
                prompt = f"{note}MFA code for {self.serial} (profile {self.profile_name}): "
                code = _read_hidden(tty, prompt)
                if CODE_RE.fullmatch(code):
                    return code
                note = "That is not 6 digits. "
                if attempt == TERMINAL_TRIES:
                    tty.write(b"No valid MFA code entered.\n")
        raise MfaError(f"no valid MFA code for profile '{self.profile_name}' after "
                       f"{TERMINAL_TRIES} tries", "enter the 6 digits your device shows")

    def _from_windows_console(self, rejected: bool) -> str:  # pragma: no cover
        import getpass

        note = "AWS rejected that code. " if rejected else ""
        for _ in range(TERMINAL_TRIES):
            code = getpass.getpass(f"{note}MFA code for {self.serial}: ").strip()
            if CODE_RE.fullmatch(code):
                return code
            note = "That is not 6 digits. "
        raise MfaError(f"no valid MFA code for profile '{self.profile_name}' after "
                       f"{TERMINAL_TRIES} tries", "enter the 6 digits your device shows")


class Signalled(MfaError):
    """A signal ended the prompt; the terminal was restored first."""

    def __init__(self, signum: int):
        import signal

        name = signal.Signals(signum).name
        super().__init__(f"MFA code entry interrupted by {name}")
        self.exit_code = 128 + signum  # what a shell reports for a process a signal ended


PROMPT_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


def _read_hidden(tty, prompt: str) -> str:
    """Write `prompt` to the terminal and read one line with echo off, within PROMPT_TIMEOUT.

    Echo is restored whatever ends the read: a line, a timeout, Ctrl-D, or SIGTERM / SIGHUP /
    SIGINT (a closed terminal window, `kill`, Ctrl-C), whose handlers raise here so that the
    `finally` runs before the process exits with the signal's conventional status."""
    import select
    import signal
    import termios

    fd = tty.fileno()

    def interrupted(signum, frame):
        raise Signalled(signum)

    handlers = {}
    for name in PROMPT_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            handlers[number] = signal.signal(number, interrupted)
    old = None
    try:
        tty.write(prompt.encode())
        try:
            try:
                old = termios.tcgetattr(fd)
            except termios.error:
                old = None
            if old is not None:
                new = list(old)
                new[3] &= ~termios.ECHO
                termios.tcsetattr(fd, termios.TCSAFLUSH, new)
            line = b""
            while not line.endswith(b"\n"):
                ready, _, _ = select.select([fd], [], [], PROMPT_TIMEOUT)
                if not ready:
                    raise MfaError(f"no MFA code entered within {PROMPT_TIMEOUT}s",
                                   "run the command again when your device is at hand")
                chunk = os.read(fd, 64)
                if not chunk or (b"\x04" in chunk and not line):
                    raise MfaError("MFA code entry cancelled (end of input)",
                                   "run the command again and type the code")
                line += chunk
        finally:
            # A hung-up terminal refuses both; what ended the read is what the user must see.
            try:
                if old is not None:
                    termios.tcsetattr(fd, termios.TCSAFLUSH, old)
                tty.write(b"\n")
            except (OSError, termios.error):
                pass
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    return line.decode("utf-8", "replace").strip()
