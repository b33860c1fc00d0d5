"""Parallel callers and their locks: 32 cold `aws` commands make one STS call and one MFA prompt,
a holder killed with SIGKILL blocks nobody and leaves no mfa_process behind, a wait is bounded
with a clear line, lock files hold no secret, and locks move (or are done without, with a
warning) when the cache dir cannot hold them, never following a link someone planted."""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import unavailable
from tests.harness.checks import alive, failure_line, nonblank_lines
from tests.harness.mfa import counting_mfa, parallel_cold_aws_calls, times_asked
from tests.harness.setups import (
    DEPLOY_ARN,
    add_admin_profile,
    helper,
    helper_json,
    identity_and_direct_run,
    start_with_mfa_script,
)
from tests.harness.users import as_user
from tests.harness.world import ASSUMED, HELPER, MFA_CODE


@pytest.fixture
def read_only_mount():
    """Make a directory refuse writes with EROFS: a read-only bind mount over itself."""
    mounted = []

    def mount(path):
        for command in (["mount", "--bind", str(path), str(path)],
                        ["mount", "-o", "remount,bind,ro", str(path)]):
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                unavailable(f"a read-only bind mount is not possible here: {result.stderr}")
        mounted.append(path)

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", str(path)], check=False)


def parallel_helpers(world, count: int = 4, env=None) -> list[subprocess.CompletedProcess]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: helper(world, env=env), range(count)))


def lock_names(world, cache_dir) -> list[str]:
    """The lock files prod-read-only's fetch would take (names are no secret)."""
    code = ("import sys; from xaccount_credproc.config import loader as config; "
            "from xaccount_credproc.credentials import cache; "
            "p = config.load(sys.argv[1]).resolve('prod-read-only'); "
            "print(cache.role_key(p)); print(cache.mfa_session_key(p))")
    env = {**world.env, "XACCOUNT_CREDPROC_CACHE_DIR": str(cache_dir)}
    keys = subprocess.run([sys.executable, "-c", code, str(world.toml)], env=env,
                          capture_output=True, text=True, check=True).stdout.split()
    return [key.replace("/", "-") + ".lock" for key in keys]


def test_32_parallel_cold_aws_cli_calls_make_one_sts_call_and_one_mfa_prompt(world):
    world.standard()
    counter = counting_mfa(world)
    parallel_cold_aws_calls(world)
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert len(world.sts.calls_of("GetSessionToken")) <= 1
    assert times_asked(counter) == 1
    # All 32 used the same credentials: every GetCallerIdentity was signed by one key.
    callers = {c.caller for c in world.sts.calls_of("GetCallerIdentity")}
    assert len(world.sts.calls_of("GetCallerIdentity")) == 32
    assert len(callers) == 1


def test_two_roles_in_parallel_share_one_prompt(world):
    world.standard()
    counter = counting_mfa(world)
    add_admin_profile(world)
    world.sts.delay = 1.0
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: world.run("credential-process", "--profile",
                                                    ["prod-read-only", "admin"][i % 2]),
                                range(8)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert times_asked(counter) == 1
    assert len(world.sts.calls_of("GetSessionToken")) == 1
    assert len(world.sts.calls_of("AssumeRole")) == 2


def test_sigkill_of_the_lock_holder_blocks_nobody(world):
    world.standard()
    counting_mfa(world)
    world.sts.delay = 5.0
    holder = subprocess.Popen([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                              env=world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while not world.sts.calls_of("GetSessionToken"):  # the holder is mid-fetch
        assert time.monotonic() < deadline
        time.sleep(0.05)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    world.sts.delay = 0.0
    started = time.monotonic()
    doc = helper_json(world)
    assert time.monotonic() - started < 20
    assert doc["AccessKeyId"].startswith("ASIA")


def test_waiting_for_the_lock_is_bounded_with_a_clear_message(world):
    from filelock import FileLock

    world.standard()
    counting_mfa(world)
    locks = world.cache_dir / "locks"
    helper_json(world)  # creates the lock directory; find the role's lock name
    world.run("clear", "--all")
    result = world.run("credential-process", "--profile", "prod-read-only", "--debug")
    role_lock = [line.split("cache miss for ")[1] for line in result.stderr.splitlines()
                 if "cache miss for role/" in line][0]
    world.run("clear", "--all")
    with FileLock(str(locks / (role_lock.replace("/", "-") + ".lock"))):
        started = time.monotonic()
        result = world.run("credential-process", "--profile", "prod-read-only",
                           env={"XACCOUNT_CREDPROC_LOCK_TIMEOUT": "2"})
        waited = time.monotonic() - started
    assert 2 <= waited < 15
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "xaccount-credproc: waited 2s for another xaccount-credproc fetching profile "
        "'prod-read-only'; it may be waiting for an MFA code in another terminal: answer it or "
        "stop it, or raise XACCOUNT_CREDPROC_LOCK_TIMEOUT")


def test_lock_files_hold_no_secrets_and_the_cache_dir_is_private(world):
    world.standard()
    counting_mfa(world)
    helper_json(world)
    assert (world.cache_dir.stat().st_mode & 0o077) == 0
    for path in world.cache_dir.rglob("*"):
        if path.is_file():
            assert (path.stat().st_mode & 0o077) == 0, path


@pytest.mark.parametrize("value", ["inf", "nan", "-5", "soon", "1e9"])
def test_a_lock_timeout_that_is_not_finite_is_refused(world, value):
    world.standard()
    world.use_mfa_process()
    result = helper(world, env={"XACCOUNT_CREDPROC_LOCK_TIMEOUT": value})
    line = failure_line(result, f"XACCOUNT_CREDPROC_LOCK_TIMEOUT={value!r} is not a number "
                                    "of seconds from 0 to 3600")
    assert result.returncode == 2, line  # a usage error, as every bad setting
    assert world.sts.calls == []


def test_a_lock_holder_killed_with_sigkill_leaves_no_mfa_process_behind(world):
    world.standard()
    pid_file = world.root / "mfa-pid"
    process = start_with_mfa_script(
        world, f"echo $$ > {pid_file}.tmp\nmv {pid_file}.tmp {pid_file}\nsleep 60\n"
               f"echo {MFA_CODE}\n", pid_file)
    child = int(pid_file.read_text())
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while alive(child):
        assert time.monotonic() < deadline, "mfa_process outlived the helper"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["read-only-mount", "immutable"])
def test_a_locks_dir_that_cannot_be_written_moves_the_locks_and_keeps_them(
        world, how, read_only_mount, immutable):
    world.standard()
    world.use_mfa_process()
    locks = world.cache_dir / "locks"
    locks.mkdir(parents=True, mode=0o700)
    world.cache_dir.chmod(0o700)
    (read_only_mount if how == "read-only-mount" else immutable)(locks)
    why = "Read-only file system" if how == "read-only-mount" else "Operation not permitted"
    results = parallel_helpers(world)
    for result in results:
        assert result.returncode == 0, result.stderr
        (line,) = nonblank_lines(result.stderr)
        assert line.startswith(f"xaccount-credproc: warning: the cache directory {locks} cannot "
                               f"be written ({why}), so it is not used; locks are kept in "), line
        assert "/xaccount-credproc-" in line or "/xaccount-credproc/locks" in line, line
    # The locks still work where they moved: 4 parallel misses, one MFA session, one role.
    assert len(world.sts.calls_of("GetSessionToken")) == 1
    assert len(world.sts.calls_of("AssumeRole")) == 1
    for command in (["init", "--force"], ["add", "second", "--role-arn", DEPLOY_ARN]):
        result = world.run(*command)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_with_no_directory_for_locks_credentials_are_still_served_and_edits_refused(
        world, immutable, tmp_path):
    world.standard()
    world.use_mfa_process()
    world.cache_dir.mkdir(parents=True, mode=0o700)
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    immutable(world.cache_dir)
    immutable(runtime)
    env = {"XDG_RUNTIME_DIR": str(runtime)}
    result = helper(world, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    (line,) = nonblank_lines(result.stderr)
    assert "and no other directory for locks can be made, so parallel callers may each call " \
           "STS and ask for MFA" in line, line
    result = world.run("init", env=env)
    assert result.returncode == 1 and result.stdout == ""
    failure_line(result, "cannot lock the AWS config for editing: the cache directory ")


def test_a_link_planted_where_the_locks_would_move_is_refused(world, immutable, tmp_path):
    """The fallback lives in a shared directory (/tmp): a link planted there by someone else,
    pointing into a directory of ours, is refused, and nothing is made behind it."""
    world.standard()
    world.use_mfa_process()
    locks = world.cache_dir / "locks"
    locks.mkdir(parents=True, mode=0o700)
    world.cache_dir.chmod(0o700)
    immutable(locks)
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir(mode=0o1777)
    precious = world.home / ".ssh"
    precious.mkdir(mode=0o700)
    (shared_tmp / f"xaccount-credproc-{os.geteuid()}").symlink_to(precious)
    result = helper(world, env={"TMPDIR": str(shared_tmp), "XDG_RUNTIME_DIR": ""})
    assert result.returncode == 0, result.stderr
    (line,) = nonblank_lines(result.stderr)
    assert "and no other directory for locks can be made" in line, line
    assert list(precious.iterdir()) == []


def test_lock_files_planted_as_symlinks_truncate_nothing(world, mallory, public_tmp):
    world.standard()
    world.use_mfa_process()
    shared = public_tmp / "shared-cache"
    shared.mkdir(mode=0o777)
    shared.chmod(0o1777)
    victim_file = world.home / "precious.txt"
    victim_file.write_text("keep me\n")
    links = " ".join(f"ln -s {victim_file} {shared}/locks/{name};"
                     for name in lock_names(world, shared))
    result = as_user(mallory, ["sh", "-c", f"mkdir -p {shared}/locks && {links}"])
    assert result.returncode == 0, result.stderr
    arn, result = identity_and_direct_run(world, env={"XACCOUNT_CREDPROC_CACHE_DIR": str(shared)})
    assert arn == ASSUMED
    assert len(nonblank_lines(result.stderr)) == 1
    assert victim_file.read_text() == "keep me\n"
    assert all(os.lstat(p).st_uid == mallory.pw_uid for p in (shared / "locks").iterdir())
