"""credential_process lines behind real wrappers (timeout, flock, time, strace, sudo, xargs,
env -i, nice, ionice, setsid, a shell) and an install path that contains the helper's name
(pipx's .../venvs/xaccount-credproc/...): each works through the real aws CLI on a miss and on a
hit, and a real loop through each is still caught. A wrapper is not a second helper."""

import json
import os
import shlex
import shutil
import time
from pathlib import Path

import pytest

from tests.harness.world import ASSUMED, BIN, FAST_START, HELPER
from xaccount_credproc.reentry import is_helper

ROOT = Path(__file__).resolve().parents[1]


def wrappers(world) -> dict[str, str]:
    """Each wrapper as the words put before the helper's own command line."""
    lock = world.root / "wrapper.lock"
    explicit = " ".join(f"{k}={shlex.quote(v)}" for k, v in world.env.items())
    return {
        "timeout": "timeout 60",
        "flock": f"flock {lock}",
        "time": "/usr/bin/time -o /dev/null",
        "strace": "strace -f -o /dev/null",
        "sudo": "sudo -n -E -u root",
        "xargs": "xargs -a /dev/null",
        "env-i": f"env -i {explicit}",
        "nice": "nice -n 5",
        "ionice": "ionice -c 3",
        "setsid": "setsid",
        "sh": "sh -c 'exec \"$0\" \"$@\"'",
    }


def pipx_like_install(world) -> Path:
    """A venv where pipx puts one, .../pipx/venvs/xaccount-credproc/, with the package copied
    in: its interpreter's path, and so init's fast start, contains the helper's name."""
    venv = world.root / "pipx" / "venvs" / "xaccount-credproc"
    (venv / "bin").mkdir(parents=True)
    shutil.copy(BIN.parent / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "bin" / "python").symlink_to(os.path.realpath(BIN / "python"))
    site = next(BIN.parent.glob("lib/python3*/site-packages"))
    (venv / "lib").mkdir()
    (venv / "lib" / site.parent.name).symlink_to(site.parent)
    shutil.copytree(ROOT / "xaccount_credproc", venv / "src" / "xaccount_credproc",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return venv


def helper_line(world, entry: str) -> str:
    """The helper as init writes it (the fast start) or as the console script."""
    if entry == "console-script":
        return str(HELPER)
    if entry == "fast-start":
        return FAST_START
    venv = pipx_like_install(world)  # "pipx": the fast start of that install
    return f"{venv / 'bin' / 'python'} -S {venv / 'src' / 'xaccount_credproc' / '__main__.py'}"


def attempted_identity(world) -> tuple[int, str, str]:
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only", timeout=120)
    arn = json.loads(result.stdout)["Arn"] if result.returncode == 0 else ""
    return result.returncode, arn, result.stderr


def stanza(line: str) -> str:
    return f"[profile prod-read-only]\ncredential_process = {line}\nregion = eu-west-1\n\n"


WRAPPERS = ["timeout", "flock", "time", "strace", "sudo", "xargs", "env-i", "nice", "ionice",
            "setsid", "sh"]


@pytest.mark.parametrize("entry", ["fast-start", "console-script", "pipx"])
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_a_wrapped_line_works_on_a_miss_and_a_hit(world, wrapper, entry):
    world.standard()
    world.use_mfa_process()
    line = f"{wrappers(world)[wrapper]} {helper_line(world, entry)} credential-process " \
           "--profile prod-read-only"
    world.aws_config.write_text(stanza(line))
    for attempt in ("miss", "hit"):
        code, arn, stderr = attempted_identity(world)
        assert code == 0, (attempt, stderr)
        assert arn == ASSUMED, attempt
    assert len(world.sts.calls_of("AssumeRole")) == 1


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_a_real_loop_through_a_wrapper_is_still_caught(world, wrapper):
    """The source profile's credential_process runs the helper again for the same profile,
    through the wrapper, from a script whose path does not name the helper (so only the
    environment marker, or for env -i and sudo the process tree, can tell)."""
    world.standard()
    world.use_mfa_process()
    loop = world.root / "company-login.sh"
    loop.write_text(f"#!/bin/sh\nexec {wrappers(world)[wrapper]} {HELPER} credential-process "
                    "--profile prod-read-only\n")
    loop.chmod(0o755)
    world.write_credentials("")
    world.aws_config.write_text(world.aws_config.read_text()
                                + f"[profile dev]\ncredential_process = {loop}\n")
    started = time.monotonic()
    code, _, stderr = attempted_identity(world)
    assert time.monotonic() - started < 60
    assert code != 0
    assert "xaccount-credproc was started again" in stderr, stderr
    assert "Traceback" not in stderr
    assert world.sts.calls == []


def test_a_helper_is_known_by_what_runs_not_by_the_words_around_it():
    python = "/usr/bin/python3.11"
    main = "/home/a/.local/pipx/venvs/xaccount-credproc/lib/xaccount_credproc/__main__.py"
    helpers = [
        [python, "-S", main, "credential-process", "--profile", "p"],
        [python, "/home/a/.local/pipx/venvs/xaccount-credproc/bin/xaccount-credproc",
         "credential-process", "--profile", "p"],
        [python, "-m", "xaccount_credproc", "credential-process", "--profile", "p"],
        [python, "-Sm", "xaccount_credproc", "--debug", "credential-process", "--profile", "p"],
        [python, "-X", "dev", "-m", "xaccount_credproc.__main__", "credential-process"],
    ]
    others = [
        ["timeout", "20", python, "-S", main, "credential-process", "--profile", "p"],
        ["flock", "/tmp/l", "/v/bin/xaccount-credproc", "credential-process"],
        ["strace", "-f", "/v/bin/xaccount-credproc", "credential-process"],
        ["sudo", "-u", "alice", "/v/bin/xaccount-credproc", "credential-process"],
        ["/bin/sh", "-c", "/v/bin/xaccount-credproc credential-process --profile p"],
        [python, "-c", "print('xaccount_credproc credential-process')"],
        [python, "/tmp/company-wrapper.py", "/v/bin/xaccount-credproc", "credential-process"],
        [python, "-m", "xaccount_credproc", "init"],
        [python, "-m", "pytest", "xaccount_credproc", "credential-process"],
    ]
    for argv in helpers:
        assert is_helper(argv, os.path.realpath(python)), argv
    for argv in others:
        assert not is_helper(argv, "/usr/bin/" + os.path.basename(argv[0])), argv
