"""The package as users get it: the sdist and the wheel built by `python -m build` (PEP 639 license
metadata, the man page generated from the parser, no warning), the wheel in a fresh venv (`man -l`
renders every command), and a clean tool install with pipx: `--version`, `init --dry-run`, a
cache hit through the real `aws` CLI, and the line `init` wrote surviving an upgrade.

Offline: the bootstrap downloads what these installs need into .venv/wheelhouse; pip is pointed
there and nowhere else (the tests talk to loopback only)."""

import email
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.harness import unavailable
from xaccount_credproc.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
MAN_PAGE = "share/man/man1/xaccount-credproc.1"
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "man", "__pycache__", "*.egg-info",
                              ".pytest_cache", ".ruff_cache", ".hypothesis", "test-artifacts")


def offline_env(**more) -> dict[str, str]:
    if not WHEELHOUSE.is_dir():
        unavailable(f"{WHEELHOUSE} is missing: run scripts/bootstrap.sh")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, **more)
    return env


def build(tmp: Path, version: str | None = None) -> tuple[Path, str]:
    """(the dist dir, the build's output) of a copy of the source tree (at `version`)."""
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    if version:
        project = source / "pyproject.toml"
        project.write_text(project.read_text().replace('version = "0.1.0"',
                                                       f'version = "{version}"'))
    out = tmp / "dist"
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                            capture_output=True, text=True, env=offline_env(), timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, result.stdout + result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("build"))


def wheel(dist: Path) -> Path:
    (found,) = dist.glob("*.whl")
    return found


def test_the_build_is_clean_and_the_wheel_carries_license_and_man_page(built):
    dist, output = built
    assert not re.search(r"(?i)warning|deprecat", output), [
        line for line in output.splitlines() if re.search(r"(?i)warning|deprecat", line)]
    assert len(list(dist.glob("*.tar.gz"))) == 1
    with zipfile.ZipFile(wheel(dist)) as archive:
        names = archive.namelist()
        metadata = email.message_from_bytes(archive.read(
            next(n for n in names if n.endswith(".dist-info/METADATA"))))
    assert f"xaccount_credproc-0.1.0.data/data/{MAN_PAGE}" in names
    assert "xaccount_credproc-0.1.0.dist-info/licenses/LICENSE" in names
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    assert "License" not in metadata  # the deprecated free-text field
    assert any(r.startswith("argcomplete") for r in metadata.get_all("Requires-Dist"))


def test_pip_install_puts_a_man_page_that_renders_every_command(built, tmp_path):
    man = shutil.which("man")
    if man is None:
        unavailable("man is not installed: run scripts/bootstrap.sh")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    str(wheel(built[0]))], check=True, env=offline_env(), timeout=300)
    page = venv / MAN_PAGE
    assert page.is_file()
    rendered = subprocess.run([man, "-l", str(page)], capture_output=True, text=True,
                              env={**os.environ, "MANWIDTH": "100", "MANPAGER": "cat",
                                   "PAGER": "cat"}, timeout=60, check=True).stdout
    assert "xaccount-credproc manual" in rendered
    for module in COMMANDS:
        name = module.replace("_", "-")
        assert f"COMMAND 'xaccount-credproc {name}'" in rendered, name
    for option in ("--profile", "--container-listen", "--volatile", "--server", "--dry-run"):
        assert option in rendered


def test_a_pipx_install_serves_hits_and_its_line_survives_an_upgrade(built, world, tmp_path):
    pipx = shutil.which("pipx")
    if pipx is None:
        unavailable("pipx is not installed: run scripts/bootstrap.sh")
    home, bindir = tmp_path / "pipx", tmp_path / "bin"
    env = offline_env(PIPX_HOME=str(home), PIPX_BIN_DIR=str(bindir), HOME=str(world.home),
                      PIPX_DEFAULT_PYTHON=sys.executable)

    def pipx_run(*args):
        result = subprocess.run([pipx, *args], capture_output=True, text=True, env=env,
                                timeout=600, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    pipx_run("install", str(wheel(built[0])))
    tool = bindir / "xaccount-credproc"
    version = world._run([str(tool), "--version"], None, 60)
    assert version.stdout.strip() == "xaccount-credproc 0.1.0", version

    world.standard()
    world.use_mfa_process()
    world.aws_config.write_text("")
    dry = world._run([str(tool), "init", "--dry-run"], None, 60)
    assert dry.returncode == 0, dry.stderr
    assert not world.aws_config.read_text()  # a dry run writes nothing
    ok = world._run([str(tool), "init"], None, 60)
    assert ok.returncode == 0, ok.stderr
    line = next(x for x in world.aws_config.read_text().splitlines()
                if x.startswith("credential_process"))
    assert str(home / "venvs" / "xaccount-credproc") in line  # the pipx install's own files
    for _ in range(2):  # the second is a cache hit
        result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
        assert result.returncode == 0, result.stderr
    assert len(world.sts.calls_of("AssumeRole")) == 1

    # An upgrade (the venv is made anew): the line init wrote still works, unchanged.
    newer, _ = build(tmp_path / "newer", version="0.1.1")
    pipx_run("install", "--force", str(wheel(newer)))
    version = world._run([str(tool), "--version"], None, 60)
    assert version.stdout.strip() == "xaccount-credproc 0.1.1", version
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"].endswith(":assumed-role/DevReadOnly-CrossAccount/alice")
    assert len(world.sts.calls_of("AssumeRole")) == 1  # still the cached session
    again = world._run([str(tool), "init", "--dry-run"], None, 60)
    assert again.returncode == 0 and "no changes" in again.stdout.lower(), again.stdout
    assert (home / "venvs" / "xaccount-credproc" / MAN_PAGE).is_file()
