"""`--debug` output: short lines on stderr, never secrets. No `logging` import on the hot path."""

import sys

from . import environ

DEBUG_ENV = "XACCOUNT_CREDPROC_DEBUG"
enabled = (environ(DEBUG_ENV) or "") not in ("", "0")


def log(message: str) -> None:
    if enabled:
        print(f"xaccount-credproc: debug: {message}", file=sys.stderr, flush=True)
