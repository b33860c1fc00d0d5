"""zenity (GNOME and most Linux desktops): an entry dialog with hidden text."""

EXECUTABLE = "zenity"


def _markup(text: str) -> str:
    # zenity reads --text as Pango markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def arguments(title: str, text: str, timeout: int) -> list[str]:
    return ["--entry", "--hide-text", f"--title={title}", f"--text={_markup(text)}",
            f"--timeout={timeout}", "--width=460"]


def answer(returncode: int, stdout: str, stderr: str) -> str:
    from . import Cancelled, GaveUp, Unavailable, unavailable

    if returncode == 0:
        return stdout.strip()
    if returncode == 5:  # zenity's exit status for --timeout
        raise GaveUp()
    # 1 is both Cancel and "cannot open display": only stderr tells them apart.
    failed = unavailable(returncode, stderr)
    if failed is not None:
        raise failed
    if returncode != 1:
        raise Unavailable(f"exit status {returncode}")
    raise Cancelled()  # Cancel, Escape or the window closed
