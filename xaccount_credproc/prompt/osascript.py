"""osascript (macOS): `display dialog … with hidden answer`, giving up after the timeout."""

EXECUTABLE = "osascript"
GAVE_UP = "xaccount-credproc:gave-up"


def _string(text: str) -> str:
    """An AppleScript string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def arguments(title: str, text: str, timeout: int) -> list[str]:
    return ["-e", f"set r to display dialog {_string(text)} default answer \"\" with hidden answer "
                  f"with title {_string(title)} buttons {{\"Cancel\", \"OK\"}} "
                  f"default button \"OK\" cancel button \"Cancel\" giving up after {timeout}",
            "-e", f"if gave up of r then return {_string(GAVE_UP)}",
            "-e", "return text returned of r"]


def answer(returncode: int, stdout: str, stderr: str) -> str:
    from . import Cancelled, GaveUp

    if returncode == 0:
        if stdout.strip() == GAVE_UP:
            raise GaveUp()
        return stdout.strip()
    if "-128" in stderr:  # "User canceled. (-128)"
        raise Cancelled()
    raise OSError(returncode, f"osascript failed ({stderr.strip()[:100]})")
