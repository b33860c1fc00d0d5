"""A second, unprivileged user on this machine, and a Python it can run the helper with.

Creating users needs root, which CI has. The project's virtualenv lives where another uid may not
be able to reach (under /root, mode 0700), so `python_for(user)` gives that user the system
interpreter with a hard-linked copy of the venv's site-packages and of the package itself:
a second or two, no bytes copied.
"""

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import pytest

from tests.harness import unavailable

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")


def create_user():
    """A throwaway system user (no home, no shell); remove it with `delete_user`."""
    if os.geteuid() != 0:
        unavailable("these tests create a second user with useradd and must run as root")
    name = f"xcpu{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    return pwd.getpwnam(name)


def delete_user(user) -> None:
    subprocess.run(["pkill", "-KILL", "-u", str(user.pw_uid)], check=False, capture_output=True)
    subprocess.run(["userdel", user.pw_name], check=False, capture_output=True)


def as_user(user, argv, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(argv, user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                          timeout=timeout, check=False, **kwargs)


def python_for_others(where: Path) -> tuple[list[str], dict[str, str]]:
    """(argv prefix, environment) that run this project's Python code as any uid: the system
    interpreter, with the venv's packages and the project hard-linked under `where`."""
    if not SYSTEM_PYTHON.exists():
        pytest.fail(f"{SYSTEM_PYTHON} is missing: scripts/bootstrap.sh installs python3")
    site = Path(sysconfig.get_paths()["purelib"])
    where.mkdir(parents=True)
    packages = where / "site-packages"
    project = where / "project"
    subprocess.run(["cp", "-al", str(site), str(packages)], check=True)
    project.mkdir()
    subprocess.run(["cp", "-al", str(ROOT / "xaccount_credproc"), str(project)], check=True)
    for path in (where, packages, project):
        path.chmod(0o755)
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if version != str(tuple(sys.version_info[:2])):
        pytest.fail(f"{SYSTEM_PYTHON} is Python {version}, the venv {sys.version_info[:2]}: "
                    "their compiled packages would not match")
    env = {"PYTHONPATH": f"{project}{os.pathsep}{packages}", "PYTHONDONTWRITEBYTECODE": "1",
           "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return [str(SYSTEM_PYTHON), "-m", "xaccount_credproc"], env


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
