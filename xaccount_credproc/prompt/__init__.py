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
