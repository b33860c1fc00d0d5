"""The controlling terminal (/dev/tty) as a place to ask a person: bounded, with echo off for
secrets, and restored whatever ends the read.

botocore runs credential_process with stdout and stderr as pipes, so a prompt on stderr is invisible
until the helper exits: prompts go to the terminal itself. Used for MFA codes (mfa.py) and for the
keys `source add` asks for.
"""

import os

from ..errors import MfaError

PROMPT_TIMEOUT = 120
PROMPT_TIMEOUT_ENV = "XACCOUNT_CREDPROC_PROMPT_TIMEOUT"


def prompt_timeout() -> int:
    """How long a person has to answer a prompt (terminal or dialog)."""
    from ..bounds import seconds_from_env

    return int(seconds_from_env(PROMPT_TIMEOUT_ENV, PROMPT_TIMEOUT, 5, 600, 120, whole=True))


def open_terminal(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None


class Signalled(MfaError):
    """A signal ended the prompt; the terminal was restored first."""

    def __init__(self, signum: int, what: str = "MFA code"):
        import signal

        name = signal.Signals(signum).name
        super().__init__(f"{what} entry interrupted by {name}")
        self.exit_code = 128 + signum  # what a shell reports for a process a signal ended


PROMPT_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


def _read_hidden(tty, prompt: str, timeout: int = PROMPT_TIMEOUT) -> str:
    """An MFA code from the terminal: read_line with echo off."""
    return read_line(tty, prompt, timeout)


def read_line(tty, prompt: str, timeout: int = PROMPT_TIMEOUT, hidden: bool = True,
              what: str = "MFA code") -> str:
    """Write `prompt` to the terminal and read one line (echo off when `hidden`), within
    `timeout`; `what` names what is asked for in the errors. Raises MfaError.

    Echo is restored whatever ends the read: a line, a timeout, Ctrl-D, or SIGTERM / SIGHUP /
    SIGINT (a closed terminal window, `kill`, Ctrl-C), whose handlers raise here so that the
    `finally` runs before the process exits with the signal's conventional status."""
    import select
    import signal
    import termios

    fd = tty.fileno()

    def interrupted(signum, frame):
        raise Signalled(signum, what)

    handlers = {}
    for name in PROMPT_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            handlers[number] = signal.signal(number, interrupted)
    old = None
    try:
        try:
            try:
                old = termios.tcgetattr(fd)
            except termios.error:
                old = None
            if old is not None and hidden:
                # Echo off before the prompt is shown, as getpass does: a code typed (or a
                # security key's OTP sent) the moment the prompt appears is neither echoed nor
                # thrown away. The flush drops only what was typed before the prompt existed.
                new = list(old)
                new[3] &= ~termios.ECHO
                termios.tcsetattr(fd, termios.TCSAFLUSH, new)
            tty.write(prompt.encode())
            line = b""
            while not line.endswith(b"\n"):
                ready, _, _ = select.select([fd], [], [], timeout)
                if not ready:
                    raise MfaError(f"no {what} entered within {timeout}s",
                                   "run the command again when your device is at hand"
                                   if what == "MFA code" else "run the command again")
                chunk = os.read(fd, 64)
                if not chunk or (b"\x04" in chunk and not line):
                    raise MfaError(f"{what} entry cancelled (end of input)",
                                   "run the command again and type the code"
                                   if what == "MFA code" else "run the command again and type it")
                line += chunk
        finally:
            # A hung-up terminal refuses both; what ended the read is what the user must see.
            try:
                if old is not None:  # TCSADRAIN: what was typed after the line stays
                    termios.tcsetattr(fd, termios.TCSADRAIN, old)
                if hidden:  # the typed newline was not echoed either
                    tty.write(b"\n")
            except (OSError, termios.error):
                pass
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    return line.decode("utf-8", "replace").strip()


def read_stdin(lines: int, timeout: float, limit: int) -> tuple[bytes, bool]:
    """(what stdin held, whether `timeout` ran out first): read until `lines` newlines, end of
    input, or `limit` bytes, from a pipe that may never say anything (`source add`'s keys,
    `vault init`'s passphrase)."""
    import select
    import sys
    import time

    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < lines and len(data) <= limit:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sys.stdin.buffer], [], [], left)[0]:
            return data, True
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    return data, False

