"""`--debug` output: short lines on stderr, never secrets. No `logging` import on the hot path."""

import os
import sys

DEBUG_ENV = "XACCOUNT_CREDPROC_DEBUG"
enabled = os.environ.get(DEBUG_ENV, "") not in ("", "0")


def log(message: str) -> None:
    if enabled:
        print(f"xaccount-credproc: debug: {message}", file=sys.stderr, flush=True)
