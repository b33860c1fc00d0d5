"""Desktop dialogs that ask for an MFA code where there is no terminal (IDEs, desktop apps),
one driver per file, as aws-vault's prompt/ has: zenity and kdialog on Linux (with DISPLAY or
WAYLAND_DISPLAY), osascript on macOS, a PowerShell dialog on Windows.

A driver builds the dialog's command line (title and text only: the code comes back on stdout,
never on any command line) and reads its answer. Every dialog runs through process.run_bounded,
so an unanswered one is killed after the prompt timeout and none is left behind.
"""

import os
import shutil
import sys
from typing import Protocol

from ..errors import MfaError
from . import Cancelled, GaveUp, Unavailable


class Driver(Protocol):
    """A dialog driver: a module of this family (zenity, kdialog, osascript, powershell),
    checked by mypy against this interface (tests/typing/dialog_conformance.py)."""

    EXECUTABLE: str  # the program, found on PATH

    def arguments(self, title: str, text: str, timeout: int) -> list[str]:
        """The program's arguments: the title and the text only (the answer comes back on
        stdout, never on a command line)."""
        ...

    def answer(self, returncode: int, stdout: str, stderr: str) -> str:
        """What was typed, from the program's exit; raises Cancelled, GaveUp or Unavailable."""
        ...


def drivers() -> list[Driver]:
    """The drivers of this platform, in order of preference."""
    if sys.platform == "darwin":
        from . import osascript

        return [osascript]
    if sys.platform == "win32":
        from . import powershell

        return [powershell]
    from . import kdialog, zenity

    return [zenity, kdialog]


def desktop_session() -> bool:
    """Whether a dialog could be shown to someone: a display on Linux; on macOS, not over SSH."""
    if sys.platform == "darwin":
        return not os.environ.get("SSH_CONNECTION")
    if sys.platform == "win32":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def find_dialog() -> Driver | None:
    """The first driver whose program is installed, if a desktop session is reachable."""
    if not desktop_session():
        return None
    return next((d for d in drivers() if shutil.which(d.EXECUTABLE)), None)


# An X11 connection setup (little-endian, protocol 11.0, no authorization): any server that is
# alive answers it at once, with Success, Failed (say, no cookie) or Authenticate.
X11_SETUP = bytes([0x6C, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0])


def display_reachable(timeout: float = 1.0) -> bool | None:
    """Whether the X or Wayland display named in the environment is served now (None: there is
    none to try, or not on this platform). An X server that is shutting down has dropped its
    clients (zenity exits 1 as for Cancel) and can still take connections into its listening
    socket's backlog for a while: for X, only an answer to the connection setup counts."""
    import socket

    if not sys.platform.startswith("linux"):
        return None
    wayland, display = os.environ.get("WAYLAND_DISPLAY"), os.environ.get("DISPLAY")
    addresses: list = []
    if wayland:
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        addresses.append((socket.AF_UNIX, wayland if wayland.startswith("/") else
                          os.path.join(runtime, wayland), False))
    if display:
        host, _, rest = display.rpartition(":")
        number = rest.split(".")[0]
        if not number.isdigit():
            return None
        if host in ("", "unix"):
            path = f"/tmp/.X11-unix/X{number}"  # noqa: S108 (the X server's own socket)
            addresses += [(socket.AF_UNIX, "\0" + path, True), (socket.AF_UNIX, path, True)]
        else:
            addresses.append((socket.AF_INET, (host, 6000 + int(number)), True))
    if not addresses:
        return None
    for family, address, x11 in addresses:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(timeout)
                probe.connect(address)
                if not x11:
                    return True  # a Wayland compositor's socket took the connection
                probe.sendall(X11_SETUP)
                if probe.recv(1) in (b"\x00", b"\x01", b"\x02"):
                    return True
        except OSError:
            continue
    return False


class DialogUnavailable(MfaError):
    """The dialog never showed (no display, or it died): the caller may ask another way."""

    def __init__(self, executable: str, why: str):
        display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or ""
        where = f" on display {display!r}" if display and "display" in why else ""
        super().__init__(f"the {executable} dialog for the MFA code could not be shown{where} "
                         f"({why})", "run it in a terminal with mfa_prompt = \"terminal\", unset "
                         "DISPLAY / WAYLAND_DISPLAY if that display is gone (a stale SSH "
                         "forward, a closed VNC session), or set mfa_process")


def ask(driver: Driver, title: str, text: str, timeout: int) -> str:
    """What the person typed into `driver`'s dialog. Raises MfaError (cancelled: exit 4 at
    once; unanswered within `timeout`; the dialog could not run)."""
    from .process import MAX_OUTPUT, OutputTooLarge, run_bounded

    argv = [shutil.which(driver.EXECUTABLE) or driver.EXECUTABLE,
            *driver.arguments(title, text, timeout)]
    try:
        # The dialog's own timeout comes first; ours is the bound if it ignores it.
        result = run_bounded(argv, timeout + 5)
        try:
            return driver.answer(result.returncode, result.stdout.decode("utf-8", "replace"),
                                 result.stderr.decode("utf-8", "replace"))
        except Unavailable as e:
            # A busy X server can refuse one connection and take the next: when the display
            # still accepts connections, the dialog is shown once more before giving up.
            if "display" not in str(e) or display_reachable() is not True:
                raise
            import time

            time.sleep(0.5)
            result = run_bounded(argv, timeout + 5)
            return driver.answer(result.returncode, result.stdout.decode("utf-8", "replace"),
                                 result.stderr.decode("utf-8", "replace"))
    except Cancelled:
        # zenity exits 1 with nothing on stderr for Cancel and when its X server dies under it:
        # a display that no longer answers was lost, not a person's Cancel.
        if display_reachable() is False:
            raise DialogUnavailable(driver.EXECUTABLE, "the display went away while the "
                                    "dialog was open") from None
        raise MfaError("MFA code entry cancelled", "run the command again when your device is "
                       "at hand") from None
    except (TimeoutError, GaveUp):
        raise MfaError(f"no MFA code entered within {timeout}s",
                       "run the command again when your device is at hand") from None
    except Unavailable as e:
        raise DialogUnavailable(driver.EXECUTABLE, str(e)) from None
    except OutputTooLarge:
        raise DialogUnavailable(driver.EXECUTABLE,
                                f"it printed more than {MAX_OUTPUT // 1024} KiB") from None
    except OSError as e:
        raise MfaError(f"the {driver.EXECUTABLE} dialog could not be started ({e.strerror})",
                       "set mfa_process in the config, or mfa_prompt = \"terminal\"") from None
