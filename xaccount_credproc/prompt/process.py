"""Programs of the user's that the helper runs (mfa_process, desktop dialogs, notifications):
bounded in time and output, never left running, never told our re-entry marker.

Each runs in a process group of its own. The whole group is killed when the bound runs out, when
the helper gets SIGTERM, SIGHUP or SIGINT, and, on Linux, when the helper dies even by SIGKILL:
there the program is started by a two-line `sh` supervisor that the kernel sends SIGTERM when the
helper dies (PR_SET_PDEATHSIG), whose trap kills the group. The helper stops waiting once the
program itself has exited (plus EXIT_GRACE), not when the last process that inherited its
output pipe does; what still holds the pipe then is killed. A program that finished and left a
daemon with its own stdio (gpg-agent, a security-key helper) keeps it.
"""

import os
import sys

# A 6-digit code, a dialog's answer: a few bytes. Past this, something is wrong.
MAX_OUTPUT = 16 * 1024
EXIT_GRACE = 0.5
POLL = 0.05
# "$@" is the user's program; `wait` returns early on a trapped signal, so the trap runs at once.
SUPERVISOR = 'trap "kill -KILL 0" TERM HUP INT; "$@" & wait $!'
SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


class OutputTooLarge(Exception):
    """The program printed more than MAX_OUTPUT bytes (to stdout or stderr)."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: the kernel sends the supervisor SIGTERM when the helper dies, even by SIGKILL."""
    import contextlib

    with contextlib.suppress(Exception):  # no prctl: the child simply runs unbound
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the helper died before prctl took effect
            os._exit(1)


def _resolve(program: str) -> str:
    """The executable `program` names; FileNotFoundError or PermissionError as exec would
    raise them (the supervisor would only print them)."""
    import errno
    import shutil

    path = program if os.path.dirname(program) else shutil.which(program)
    if not path or not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if not os.access(path, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    return path


def run_bounded(argv: list[str], timeout: float, on_slow=None, slow_after: float = 1.0):
    """Run a program of the user's (stdin /dev/null, output captured) for at most `timeout`
    seconds; see the module docstring for how nothing it starts outlives it. `on_slow()` is
    called once if the program has not finished after `slow_after` seconds (a security key
    waiting for a touch). Raises TimeoutError, OutputTooLarge, OSError when it cannot start, and
    terminal.Signalled when the helper gets SIGTERM, SIGHUP or SIGINT meanwhile."""
    import signal
    import subprocess
    import threading

    argv = [_resolve(argv[0]), *argv[1:]]
    supervised = sys.platform.startswith("linux") and os.path.exists("/bin/sh")
    command = ["/bin/sh", "-c", SUPERVISOR, "xaccount-credproc", *argv] if supervised else argv
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        from .terminal import Signalled

        def interrupted(signum, frame):
            raise Signalled(signum)  # the `finally` below kills the group first

        for name in SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                handlers[number] = signal.signal(number, interrupted)
    process = None
    held_open = False
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=child_environment(),
                                   process_group=0 if os.name == "posix" else None,
                                   preexec_fn=_die_with_parent if supervised else None)
        stdout, stderr, held_open = _collect(process, timeout, on_slow, slow_after)
    finally:
        try:
            # Only what did not finish, or what still holds the output pipe after the program
            # exited: one that finished may have started a daemon meant to outlive it.
            if process is not None and (process.returncode is None or held_open):
                _kill_group(process, signal)
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _collect(process, timeout: float, on_slow, slow_after: float):
    """(stdout, stderr, whether something still held the pipes) of `process`, read until both
    pipes close or, once the program has exited, EXIT_GRACE more."""
    import select
    import time

    started = time.monotonic()
    deadline = started + timeout
    slow_at = started + slow_after if on_slow is not None and slow_after < timeout else None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    output = {out_fd: bytearray(), err_fd: bytearray()}
    open_fds = set(output)
    exited_at = None
    while open_fds:
        now = time.monotonic()
        if exited_at is None and process.poll() is not None:
            exited_at = now
        if exited_at is not None and now >= exited_at + EXIT_GRACE:
            break  # the program is done; whatever it left behind holds the pipe
        if now >= deadline:
            raise TimeoutError
        if slow_at is not None and now >= slow_at:
            slow_at = None
            on_slow()
        ready, _, _ = select.select(list(open_fds), [], [], min(POLL, deadline - now))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            output[fd] += chunk
            if len(output[fd]) > MAX_OUTPUT:
                raise OutputTooLarge
    if exited_at is None:  # both pipes closed: the program itself is about to exit
        import subprocess

        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TimeoutError from None
    process.stdout.close()
    process.stderr.close()
    return bytes(output[out_fd]), bytes(output[err_fd]), bool(open_fds)


def _kill_group(process, signal) -> None:
    """Kill what is left of the program's process group, and reap the program."""
    import contextlib

    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    elif process.poll() is None:  # pragma: no cover - Windows
        process.kill()
    with contextlib.suppress(Exception):
        process.wait(timeout=5)


def child_environment() -> dict[str, str]:
    """Our environment without the re-entry marker: a program we run to get a code is not
    resolving source credentials, and may itself run `aws` with a profile of ours."""
    from ..reentry import REENTRY_ENV

    # Nor the vault's passphrase (CI's variable): no program of the user's needs it.
    return {k: v for k, v in os.environ.items()
            if k not in (REENTRY_ENV, "XACCOUNT_CREDPROC_VAULT_PASSPHRASE")}
