"""kdialog (KDE): a password dialog. It has no timeout of its own: run_bounded is the bound."""

EXECUTABLE = "kdialog"


def arguments(title: str, text: str, timeout: int) -> list[str]:
    return ["--title", title, "--password", text]


def answer(returncode: int, stdout: str, stderr: str) -> str:
    from . import Cancelled, Unavailable, unavailable

    if returncode == 0:
        return stdout.strip()
    failed = unavailable(returncode, stderr)
    if failed is not None:
        raise failed
    if returncode != 1:
        raise Unavailable(f"exit status {returncode}")
    raise Cancelled()  # 1: Cancel or the window closed
