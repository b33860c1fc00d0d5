"""Programs of the user's that the helper runs (mfa_process, desktop dialogs, notifications):
bounded in time, never left running, never told our re-entry marker."""

import os
import sys


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: have the kernel SIGKILL the child when the helper dies, even by SIGKILL."""
    import contextlib

    with contextlib.suppress(Exception):  # no prctl: the child simply runs unbound
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the helper died before prctl took effect
            os._exit(1)


def run_bounded(argv: list[str], timeout: float, on_slow=None, slow_after: float = 1.0):
    """Run a program of the user's (stdin /dev/null, output captured) for at most `timeout`
    seconds. It runs in a process group of its own, so on a timeout it is killed with
    everything it started (a shell's children keep the pipes open otherwise), and on Linux it
    dies with the helper, even when the helper is killed with SIGKILL while holding a lock.
    `on_slow()` is called once if the program has not finished after `slow_after` seconds (a
    security key waiting for a touch). Raises TimeoutError, and OSError when it cannot start."""
    import signal
    import subprocess

    linux = sys.platform.startswith("linux")
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=child_environment(),
                               process_group=0 if os.name == "posix" else None,
                               preexec_fn=_die_with_parent if linux else None)
    try:
        if on_slow is not None and slow_after < timeout:
            try:
                stdout, stderr = process.communicate(timeout=slow_after)
            except subprocess.TimeoutExpired:
                on_slow()
                stdout, stderr = process.communicate(timeout=timeout - slow_after)
        else:
            stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError from None
    finally:
        # Only a child that did not finish: one that did may have started something meant to
        # outlive it (gpg-agent, a YubiKey daemon).
        if process.returncode is None:
            _kill_group(process, signal)
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _kill_group(process, signal) -> None:
    """Kill what is left of the child's process group, and reap the child."""
    import contextlib

    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    elif process.poll() is None:  # pragma: no cover - Windows
        process.kill()
    with contextlib.suppress(Exception):
        process.communicate(timeout=5)


def child_environment() -> dict[str, str]:
    """Our environment without the re-entry marker: a program we run to get a code is not
    resolving source credentials, and may itself run `aws` with a profile of ours."""
    from ..reentry import REENTRY_ENV

    return {k: v for k, v in os.environ.items() if k != REENTRY_ENV}


