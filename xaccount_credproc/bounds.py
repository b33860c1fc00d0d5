"""Bounds on waits that a user may change through the environment: the one reader of a
"seconds" setting (the lock timeout, the prompt timeout, a sign-in's wait), so that every such
setting is checked the same way and a bad value is a usage error (exit 2) naming the variable.

Loose beside the families (ARCHITECTURE.md) because `prompt/`, `credentials/` and `server/`
all read one, and `prompt/` may not import `credentials/`.
"""

import os

from .errors import ConfigError


def seconds_from_env(name: str, default: float, low: float, high: float, example: float,
                     whole: bool = False) -> float:
    """A bound in seconds from environment variable `name` (`default` when unset). A value
    outside [low, high], not a number, or (`whole`) not a whole number, is a usage error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if whole:
        value = float(raw) if raw.isascii() and raw.isdigit() else float("nan")
    else:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
    if not low <= value <= high:  # also false for nan
        kind = "whole number" if whole else "number"
        raise ConfigError(f"{name}={raw!r} is not a {kind} of seconds from {low:g} to {high:g}",
                          f"unset it or set e.g. {name}={example:g}")
    return value
