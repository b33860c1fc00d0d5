"""Opening a URL in the user's browser, without waiting for it (a browser started afresh runs
until it is closed): $BROWSER, the desktop's opener (xdg-open), or the system's on macOS and
Windows; never a text browser in this terminal, which webbrowser falls back to on Linux."""

import os
import sys


def browser_available() -> bool:
    """Whether a browser can be opened here ($BROWSER, a desktop session, macOS, Windows)."""
    return bool(os.environ.get("BROWSER") or os.environ.get("DISPLAY")
                or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("darwin", "win32"))


def open_url(url: str) -> bool:
    """Open `url` in the user's browser; whether it was started (a browser that takes longer
    than two seconds to say counts as started)."""
    if os.environ.get("BROWSER") or sys.platform in ("darwin", "win32"):
        import threading
        import webbrowser

        started: list[bool] = []

        def run() -> None:
            try:
                started.append(bool(webbrowser.open(url, new=2)))
            except webbrowser.Error:
                started.append(False)

        thread = threading.Thread(target=run, daemon=True, name="browser")
        thread.start()
        thread.join(2)
        return started != [False]
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import shutil
    import subprocess

    opener = shutil.which("xdg-open")
    if opener is None:
        return False
    try:
        subprocess.Popen([opener, url], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return False
    return True
