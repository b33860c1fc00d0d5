"""A desktop notification ("touch your security key") while a slow mfa_process runs: the
freedesktop Notifications service over the session bus on Linux (with the same bounded D-Bus
client the keyring fast path uses), `display notification` through osascript on macOS. Best
effort: never an error, never more than about two seconds."""

import sys

NOTIFICATIONS = "org.freedesktop.Notifications"
APP = "xaccount-credproc"


def notify(summary: str, body: str) -> bool:
    """Show a notification; whether it was accepted."""
    try:
        if sys.platform == "darwin":
            return _macos(summary, body)
        if sys.platform.startswith("linux"):
            return _freedesktop(summary, body)
    except Exception:  # a notification is a courtesy: nothing may fail because of it
        return False
    return False


def _freedesktop(summary: str, body: str) -> bool:
    from ..backends.dbus import BUS_NAME, Bus

    bus = Bus.session()
    if bus is None:
        return False
    try:
        (owner,) = bus.call("/org/freedesktop/DBus", BUS_NAME, "GetNameOwner", "s",
                            [NOTIFICATIONS], "s", destination=BUS_NAME)
        bus.peer = owner
        bus.call("/org/freedesktop/Notifications", NOTIFICATIONS, "Notify", "susssasa{sv}i",
                 [APP, 0, "dialog-password", summary, body, [], [], 30000], "u",
                 destination=NOTIFICATIONS)
        return True
    finally:
        bus.close()


def _macos(summary: str, body: str) -> bool:
    from .osascript import _string
    from .process import run_bounded

    script = f"display notification {_string(body)} with title {_string(summary)}"
    return run_bounded(["osascript", "-e", script], 5).returncode == 0
