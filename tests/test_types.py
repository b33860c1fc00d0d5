"""The typed seams: mypy checks backends/ and credentials/ (and that every store class is a
SecretStore, tests/typing/store_conformance.py, and every provider a Provider,
tests/typing/provider_conformance.py); a store missing part of the interface is caught."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mypy(tmp_path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"),
                           *targets], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_the_store_and_credential_seams_type_check(tmp_path):
    result = mypy(tmp_path, "xaccount_credproc/backends", "xaccount_credproc/credentials",
                  "tests/typing/store_conformance.py", "tests/typing/provider_conformance.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_a_store_that_lacks_part_of_the_interface_is_refused(tmp_path):
    """The check is live: a class without `where` is not a SecretStore."""
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from xaccount_credproc.backends.store import SecretStore\n"
        "class Partial:\n"
        "    takes_expiry = False\n"
        "    chunk_size = None\n"
        "    kernel = False\n"
        "    def replaceable(self) -> bool: return False\n"
        "    def describe(self) -> str: return ''\n"
        "    def get_many(self, names: list[str]) -> list[str | None]: return []\n"
        "    def set(self, name: str, value: str, expires: int | None = None) -> None: pass\n"
        "    def delete(self, name: str) -> bool: return False\n"
        "store: SecretStore = Partial()\n")
    result = mypy(tmp_path, str(planted))
    assert result.returncode == 1, result.stdout
    assert 'is missing following "SecretStore" protocol member' in result.stdout, result.stdout
    assert re.search(r"protocol member:\n.*note:\s+where\n", result.stdout), result.stdout
