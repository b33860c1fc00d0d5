"""Loops back into this helper: a source profile whose credentials come from xaccount-credproc.

Checked on every run (the marker in the environment, which costs nothing) and before any lock is
taken on a miss (the process tree, which a wrapper that scrubs the environment cannot hide).
"""

import os

from .errors import ConfigError

# Set while we resolve source credentials: botocore passes os.environ to any credential_process it
# runs, so a loop back into this helper sees it and stops instead of recursing.
REENTRY_ENV = "XACCOUNT_CREDPROC_ACTIVE"
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


def helper_ancestors(limit: int = 128) -> list[list[str]]:
    """The argv of each ancestor that is a `credential-process` run of this helper, nearest
    first. Read from the process tree, not the environment, so a wrapper that scrubs the
    environment cannot hide a loop."""
    found = []
    for argv in _ancestor_argvs(limit):
        if "credential-process" in argv and any(
                marker in word for word in argv[:3] for marker in HELPER_MARKERS):
            found.append(argv)
    return found


def _ancestor_argvs(limit: int) -> list[list[str]]:
    if os.path.isdir("/proc/self"):
        out, pid = [], os.getppid()
        for _ in range(limit):
            if pid <= 1:
                break
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{pid}/stat", "rb") as f:
                    pid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                break
            out.append([word.decode("utf-8", "replace") for word in argv if word])
        return out
    import subprocess  # macOS and the BSDs: one `ps` for the whole table

    try:
        listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,args="], capture_output=True,
                                 text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    table = {}
    for line in listing.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            table[int(parts[0])] = (int(parts[1]), (parts[2] if len(parts) > 2 else "").split())
    out, pid = [], os.getppid()
    while pid in table and pid > 1 and len(out) < limit:
        pid, argv = table[pid][0], table[pid][1]
        out.append(argv)
    return out


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
