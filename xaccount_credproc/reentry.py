"""Loops back into this helper: a source profile whose credentials come from xaccount-credproc.

Checked on every run (the marker in the environment, which costs nothing) and before any lock is
taken on a miss (the process tree, which a wrapper that scrubs the environment cannot hide).
"""

import os

from .errors import ConfigError

# Set while we resolve source credentials: botocore passes os.environ to any credential_process it
# runs, so a loop back into this helper sees it and stops instead of recursing.
REENTRY_ENV = "XACCOUNT_CREDPROC_ACTIVE"
# Words in a source profile's credential_process line that name this helper (credentials/sts.py
# refuses such a source before botocore would run it).
HELPER_MARKERS = ("xaccount-credproc", "xaccount_credproc")


def check_not_reentered(profile_name: str) -> None:
    chain = os.environ.get(REENTRY_ENV)
    if chain:
        raise ConfigError(
            f"xaccount-credproc was started again while resolving source credentials "
            f"({chain} -> {profile_name})",
            "point source_profile at a profile with its own credentials, not one served by "
            "xaccount-credproc")


# How many credential-process runs of this helper may be nested (each resolving a source that
# runs the helper again, e.g. through a wrapper script) before we call it a loop.
MAX_NESTING = 3


COMMAND = "credential-process"
PACKAGE = "xaccount_credproc"
CONSOLE_SCRIPT = "xaccount-credproc"
# Interpreter options that take the next word as their value (python -X dev, -W error).
OPTIONS_WITH_VALUE = ("X", "W")


def helper_ancestors(limit: int = 128) -> list[list[str]]:
    """The argv of each ancestor that is a `credential-process` run of this helper, nearest
    first. Read from the process tree, not the environment, so a wrapper that scrubs the
    environment cannot hide a loop."""
    return [argv for exe, argv in _ancestors(limit) if is_helper(argv, exe)]


def is_helper(argv: list[str], exe: str | None = None) -> bool:
    """Whether a process is a `credential-process` run of this helper, by what it is: a Python
    interpreter (its executable `exe`, where known, else argv[0]) running this package (`-m
    xaccount_credproc`, the package's __main__.py or directory, or the console script), with
    credential-process after it. A wrapper (timeout, flock, strace, sudo, a shell, ...) is never
    one, whatever its arguments mention: the helper's own path may contain its name (pipx puts
    it under .../venvs/xaccount-credproc/)."""
    interpreter = os.path.basename(exe or (argv[0] if argv else ""))
    if not interpreter.startswith(("python", "pypy")):
        return False
    index = 1
    while index < len(argv):
        word = argv[index]
        if word.startswith("--") or word == "-":
            if word in ("-", "--"):
                return False  # the program comes from stdin
            index += 1  # --check-hash-based-pycs takes a value but is never used here
            continue
        if word.startswith("-"):
            for position, flag in enumerate(word[1:], 1):
                rest = word[position + 1:]
                if flag == "c":
                    return False  # a program given on the command line: not this package
                if flag == "m":
                    module = rest or (argv[index + 1] if index + 1 < len(argv) else "")
                    after = argv[index + (1 if rest else 2):]
                    return module in (PACKAGE, f"{PACKAGE}.__main__") and COMMAND in after
                if flag in OPTIONS_WITH_VALUE:
                    index += 0 if rest else 1
                    break
            index += 1
            continue
        script = word.rstrip("/")
        name = os.path.basename(script)
        parent = os.path.basename(os.path.dirname(script))
        ours = (name in (PACKAGE, CONSOLE_SCRIPT)
                or (name == "__main__.py" and parent == PACKAGE))
        return ours and COMMAND in argv[index + 1:]
    return False


def _ancestors(limit: int) -> list[tuple[str | None, list[str]]]:
    """(executable or None, argv) of each ancestor, nearest first."""
    if os.path.isdir("/proc/self"):
        out: list[tuple[str | None, list[str]]] = []
        pid = os.getppid()
        for _ in range(limit):
            if pid <= 1:
                break
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{pid}/stat", "rb") as f:
                    parent = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                break
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:  # another user's process (sudo): its argv must do
                exe = None
            out.append((exe, [word.decode("utf-8", "replace") for word in argv if word]))
            pid = parent
        return out
    import subprocess  # macOS and the BSDs: one `ps` for the whole table

    try:
        listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,args="], capture_output=True,
                                 text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    table: dict[int, tuple[int, list[str]]] = {}
    for line in listing.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            table[int(parts[0])] = (int(parts[1]), (parts[2] if len(parts) > 2 else "").split())
    found: list[tuple[str | None, list[str]]] = []
    pid = os.getppid()
    while pid in table and pid > 1 and len(found) < limit:
        pid, words = table[pid]
        found.append((None, words))
    return found


def check_not_nested(profile_name: str) -> None:
    """Refuse to resolve source credentials from inside a loop back into this helper."""
    ancestors = helper_ancestors()
    for argv in ancestors:
        pairs = zip(argv, argv[1:], strict=False)
        if any(a == "--profile" and b == profile_name for a, b in pairs) \
                or f"--profile={profile_name}" in argv:
            raise ConfigError(
                f"xaccount-credproc was started again for profile '{profile_name}' while "
                "resolving its own source credentials (through a wrapper that hides the "
                f"{REENTRY_ENV} marker)", "point source_profile at a profile with its own "
                "credentials, not one served by xaccount-credproc")
    if len(ancestors) >= MAX_NESTING:
        raise ConfigError(
            f"xaccount-credproc is nested {len(ancestors)} deep while resolving source "
            f"credentials for profile '{profile_name}'", "point source_profile at a profile with "
            "its own credentials, not one served by xaccount-credproc")
