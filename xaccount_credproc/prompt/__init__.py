"""Asking a person (or the user's own program) for a secret, as aws-vault's prompt/ does, one
module per way of asking:

* `mfa`: where an MFA code comes from, in order: `mfa_process`, the terminal, a desktop dialog.
* `terminal`: the controlling terminal (/dev/tty), bounded, echo off for secrets.
* `dialog`: which desktop dialog driver to use, and asking through it; one driver per module
  (`zenity`, `kdialog` on Linux, `osascript` on macOS, `powershell` on Windows), each turning
  its dialog's answer into the code, or `Cancelled` / `GaveUp` (below).
* `notify`: a desktop notification while a slow `mfa_process` waits for a security key.
* `process`: running the user's programs (mfa_process, dialogs): bounded, never left running.
"""


class Cancelled(Exception):
    """The person closed the dialog or pressed Cancel."""


class GaveUp(Exception):
    """The dialog's own timeout ran out."""


class Unavailable(Exception):
    """The dialog never showed: it could not open the display, or it died. Never a Cancel."""


# What GTK, Qt and X print when the display named by DISPLAY / WAYLAND_DISPLAY is not there (a
# stale SSH forward, a closed VNC session).
NO_DISPLAY_WORDS = ("cannot open display", "could not connect to display", "cannot connect to x",
                    "failed to connect to wayland display", "unable to open display")


def unavailable(returncode: int, stderr: str) -> "Unavailable | None":
    """The Unavailable a dialog's exit means, if it never showed (else None)."""
    if returncode < 0:
        return Unavailable(f"killed by signal {-returncode}")
    said = stderr.lower()
    if any(words in said for words in NO_DISPLAY_WORDS):
        return Unavailable("cannot open the display")
    return None
