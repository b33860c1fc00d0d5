"""Checked by mypy (tests/test_types.py), never run: every dialog driver module is a Driver,
whatever platform mypy runs on (drivers() names only the current platform's)."""

from xaccount_credproc.prompt import kdialog, osascript, powershell, zenity
from xaccount_credproc.prompt.dialog import Driver


def every_driver_is_a_driver() -> list[Driver]:
    return [zenity, kdialog, osascript, powershell]
