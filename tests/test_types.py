"""The whole package is typed: mypy (as pyproject.toml configures it) checks every module, and
the conformance files in tests/typing/ hold each seam to its Protocol (every store a
SecretStore, every provider a Provider, every dialog driver a Driver, every MFA code source a
CodeSource, every sign-in a SignIn); a store missing part of the interface is caught."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mypy(tmp_path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"),
                           *targets], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_the_whole_package_and_every_seam_type_check(tmp_path):
    result = mypy(tmp_path, "xaccount_credproc", "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_a_store_that_lacks_part_of_the_interface_is_refused(tmp_path):
    """The check is live: a class without `where` is not a SecretStore."""
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from xaccount_credproc.backends.store import DURABLE, Traits\n"
        "from xaccount_credproc.backends.store import SecretStore\n"
        "class Partial:\n"
        "    def traits(self) -> Traits: return DURABLE\n"
        "    def describe(self) -> str: return ''\n"
        "    def get_many(self, names: list[str]) -> list[str | None]: return []\n"
        "    def set(self, name: str, value: str, expires: int | None = None) -> None: pass\n"
        "    def delete(self, name: str) -> bool: return False\n"
        "store: SecretStore = Partial()\n")
    result = mypy(tmp_path, str(planted))
    assert result.returncode == 1, result.stdout
    assert 'is missing following "SecretStore" protocol member' in result.stdout, result.stdout
    assert re.search(r"protocol member:\n.*note:\s+where\n", result.stdout), result.stdout
