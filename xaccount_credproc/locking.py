"""Cross-process locks around fetching one key's credentials.

Parallel callers (Terraform, `xargs -P`, several terminals) that all miss the cache wait here for
the first one, then read what it cached: one STS call and one MFA prompt. The locks are OS file
locks (flock): a holder killed with SIGKILL releases its lock with its last file descriptor, so
nobody is blocked by a dead process. Lock files hold no data, let alone secrets.
"""

import os
from contextlib import contextmanager

from . import debug, paths
from .errors import UserError

TIMEOUT_ENV = "XACCOUNT_CREDPROC_LOCK_TIMEOUT"
# Longer than a holder can legitimately take: an unanswered MFA prompt gives up after 120 s, and
# STS calls time out well within the rest.
DEFAULT_TIMEOUT = 300.0


def lock_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT)))
    except ValueError:
        raise UserError(f"{TIMEOUT_ENV} must be a number of seconds",
                        f"unset it or set e.g. {TIMEOUT_ENV}=300") from None


@contextmanager
def held(name: str, what: str, warnings: list[str] | None = None):
    """Hold the lock for cache key `name`; `what` names it in messages (e.g. a profile).

    With a cache directory that is not this user's alone (see paths.private_cache_dir), lock
    files there could be planted or held by someone else: with `warnings` given, say so there and
    go on without the lock (parallel callers may then each fetch); without, raise."""
    from filelock import FileLock, Timeout

    try:
        directory = paths.private_cache_dir("locks")
    except paths.UntrustedCacheDir as e:
        if warnings is None:
            raise
        warnings.append(str(e))
        yield
        return
    path = os.path.join(directory, name.replace("/", "-") + ".lock")
    timeout = lock_timeout()
    lock = FileLock(path, timeout=timeout, mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        debug.log(f"waiting for another xaccount-credproc fetching {what}")
        try:
            lock.acquire()
        except Timeout:
            raise UserError(
                f"waited {timeout:g}s for another xaccount-credproc fetching {what}",
                "it may be waiting for an MFA code in another terminal: answer it or stop it, "
                f"or raise {TIMEOUT_ENV}") from None
    try:
        yield
    finally:
        lock.release()
