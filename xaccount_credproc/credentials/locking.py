"""Cross-process locks around fetching one key's credentials.

Parallel callers (Terraform, `xargs -P`, several terminals) that all miss the cache wait here for
the first one, then read what it cached: one STS call and one MFA prompt. The locks are OS file
locks (flock): a holder killed with SIGKILL releases its lock with its last file descriptor, so
nobody is blocked by a dead process. Lock files hold no data, let alone secrets.
"""

import contextlib
import os
import time
from contextlib import contextmanager

from .. import debug, files
from ..bounds import seconds_from_env
from ..errors import AwsError, ConfigError, UserError

TIMEOUT_ENV = "XACCOUNT_CREDPROC_LOCK_TIMEOUT"
# Longer than a holder can legitimately take: an unanswered MFA prompt gives up after 120 s, and
# STS calls time out well within the rest.
DEFAULT_TIMEOUT = 300.0


MAX_TIMEOUT = 3600.0


def lock_timeout() -> float:
    """The bound on waiting for a parallel fetch: finite, so `aws` can never hang on it."""
    return seconds_from_env(TIMEOUT_ENV, DEFAULT_TIMEOUT, 0, MAX_TIMEOUT, 300)


# How long a holder's failure is handed to the callers that waited for it, instead of each of
# them trying again in turn (4 callers of a mute STS would otherwise wait 1x, 2x, 3x, 4x).
FAILURE_TTL = 30.0


class Held:
    """What `held` yields: the lock's path (None when running unlocked) and, if this caller had
    to wait, since when."""

    def __init__(self, path: str | None, waited_since_ns: int | None):
        self.marker = None if path is None else path + ".failed"
        self.waited_since_ns = waited_since_ns

    def failure(self) -> UserError | None:
        """The failure of the holder this caller waited for, if it failed while we waited."""
        if self.marker is None or self.waited_since_ns is None:
            return None
        try:
            st = os.stat(self.marker)
            with open(self.marker, encoding="utf-8") as f:
                text = f.read(4096)
        except (OSError, UnicodeDecodeError):
            return None
        fresh = time.time_ns() - st.st_mtime_ns < FAILURE_TTL * 1e9
        if st.st_mtime_ns < self.waited_since_ns - 50_000_000 or not fresh:
            return None
        parts = text.split("\n")
        if len(parts) < 4 or parts[0] not in ("aws", "config"):
            return None
        return (AwsError if parts[0] == "aws" else ConfigError)(parts[1], parts[2])

    def record(self, error: UserError) -> None:
        """Leave `error` for the callers waiting behind us. Only failures a waiter would meet
        too (AWS's answer, a broken source): not an MFA prompt of this caller's."""
        if self.marker is None or not isinstance(error, AwsError | ConfigError):
            return
        kind = "aws" if isinstance(error, AwsError) else "config"
        text = "\n".join([kind, error.what.replace("\n", " "), error.fix.replace("\n", " "), ""])
        with contextlib.suppress(OSError):  # waiters then simply try again themselves
            files.replace_atomically(self.marker, text.encode("utf-8"))

    def clear(self) -> None:
        if self.marker is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.marker)

    def fetch(self, fetch):
        """`fetch()` under this lock, unless the holder we waited for just failed: then its
        error is ours at once. A failure is left for whoever waits behind us."""
        failed = self.failure()
        if failed is not None:
            debug.log("the caller we waited for failed just now: its error is ours")
            raise failed
        try:
            result = fetch()
        except UserError as e:
            self.record(e)
            raise
        self.clear()
        return result


@contextmanager
def held(name: str, what: str, warnings: list[str] | None = None):
    """Hold the lock for cache key `name`; `what` names it in messages (e.g. a profile).
    Yields a `Held`.

    With a cache directory that is not this user's alone (see files.private_cache_dir), lock
    files there could be planted or held by someone else: with `warnings` given, say so there and
    go on without the lock (parallel callers may then each fetch); without, raise."""
    from filelock import FileLock, Timeout

    try:
        directory, moved = files.locks_dir()
    except files.UntrustedCacheDir as e:
        if warnings is None:
            raise
        warnings.append(f"{e.what}, and no other directory for locks can be made, so parallel "
                        "callers may each call STS and ask for MFA; " + e.fix)
        yield Held(None, None)
        return
    if moved is not None and warnings is not None and not any(
            w.startswith(moved.what) for w in warnings):  # said once, by the snapshot or here
        warnings.append(f"{moved.what}; locks are kept in {directory} instead; {moved.fix}")
    path = os.path.join(directory, name.replace("/", "-") + ".lock")
    timeout = lock_timeout()
    lock = FileLock(path, timeout=timeout, mode=0o600)
    waited_since = None
    try:
        lock.acquire(timeout=0)
    except Timeout:
        debug.log(f"waiting for another xaccount-credproc fetching {what}")
        waited_since = time.time_ns()
        try:
            lock.acquire()
        except Timeout:
            raise UserError(
                f"waited {timeout:g}s for another xaccount-credproc fetching {what}",
                "it may be waiting for an MFA code in another terminal: answer it or stop it, "
                f"or raise {TIMEOUT_ENV}") from None
    try:
        yield Held(path, waited_since)
    finally:
        lock.release()
