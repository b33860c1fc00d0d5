"""Nothing hangs and nothing ends in `internal error`: a mute STS, a stopped (SIGSTOP) keyring
daemon, odd cache entries, bad environment values, a wrong clock, and a lock holder killed while
its mfa_process runs. Real parts throughout: the installed helper, the real `aws` CLI, the STS
emulator, gnome-keyring on a private bus."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.harness import unavailable
from tests.harness.checks import failure_line
from tests.harness.keyring_daemon import SecretServiceDaemon
from tests.harness.world import HELPER, MFA_CODE

ASSUMED = "arn:aws:sts::222222222222:assumed-role/DevReadOnly-CrossAccount/alice"
DEPLOY_ARN = "arn:aws:iam::333333333333:role/Deploy"


def helper(world, profile="prod-read-only", env=None, timeout=60):
    return world.run("credential-process", "--profile", profile, env=env, timeout=timeout)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- a mute STS -------------------------------------------------------------------------------


@pytest.fixture
def mute_sts():
    """Accepts connections (the kernel completes them) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


@pytest.mark.parametrize("callers", [1, 4])
def test_a_mute_sts_is_a_clear_error_within_the_bound(world, mute_sts, callers):
    world.standard()
    world.use_mfa_process("mfa_session = false\n")
    env = {"AWS_ENDPOINT_URL_STS": mute_sts}
    started = time.monotonic()
    with ThreadPoolExecutor(callers) as pool:
        results = list(pool.map(lambda _: helper(world, env=env), range(callers)))
    took = time.monotonic() - started
    for result in results:
        assert result.returncode == 3
        failure_line(result, f"{mute_sts}/ accepted the connection but did not answer "
                                 "AssumeRole within 5s (2 tries)")
    # 2 tries of 5 s for the one caller that tries; the others get its failure at once.
    assert took < 25, took


# -- a hung keyring daemon ----------------------------------------------------------------------


@pytest.fixture
def own_keyring(tmp_path):
    daemon = SecretServiceDaemon(tmp_path / "own-keyring").start()
    try:
        yield daemon
    finally:
        if daemon.processes[-1].poll() is None:  # a test may have stopped (SIGSTOP) it
            os.kill(daemon.processes[-1].pid, signal.SIGCONT)
        daemon.stop()


def test_a_stopped_keyring_daemon_costs_seconds_on_a_hit_and_a_miss(world, own_keyring):
    """4 parallel callers each time, and one AssumeRole each time and one mfa_process in all:
    the kernel keyring stands in for the hung Secret Service, so the lock holder's credentials
    reach the callers waiting for it."""
    world.standard()
    world.use_mfa_process(f'\n[profiles.deploy]\nrole_arn = "{DEPLOY_ARN}"\n')
    world.sts.add_role(DEPLOY_ARN, mfa_required=True)
    env = dict(own_keyring.env)
    warm = helper(world, env=env)
    assert warm.returncode == 0 and warm.stderr == "", warm.stderr
    counter = world.root / "otp-runs"
    script = world.root / "counting-otp.sh"
    script.write_text(f"#!/bin/sh\necho run >> {counter}\nexec {world.mfa_process_command()}\n")
    script.chmod(0o700)
    text = world.toml.read_text()
    line = next(line for line in text.splitlines() if line.startswith("mfa_process = "))
    world.write_toml(text.replace(line, f'mfa_process = "{script}"'))
    os.kill(own_keyring.processes[-1].pid, signal.SIGSTOP)  # the daemon hangs
    for profile in ("prod-read-only", "deploy"):  # a cached profile, then an uncached one
        calls = len(world.sts.calls_of("AssumeRole"))
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _, p=profile: helper(world, p, env=env), range(4)))
        took = time.monotonic() - started
        for result in results:
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
            (line,) = lines(result.stderr)
            assert line.startswith("xaccount-credproc: warning: the Secret Service did not "
                                   "answer within 2s, so credentials are kept in the kernel "
                                   "keyring meanwhile"), line
        assert took < 20, (profile, took)
        assert len(world.sts.calls_of("AssumeRole")) == calls + 1, profile
    # One MFA session (one code) for both profiles while the daemon hung.
    assert counter.read_text().count("run") == 1


# -- odd cache entries ------------------------------------------------------------------------


def entry(name: str, expiry: str) -> str:
    payload = "\n".join([name, "ASIAODDENTRY00000000", "oddSecret", "oddToken", expiry])
    return f"xcp1 1 {zlib.crc32(payload.encode()):08x} {payload}"


@pytest.mark.parametrize("expiry", ["99999999999999999999", "²³", "1e9", "-1",
                                    "253402300800",
                                    "99999999999"])  # the year 5138: longer than any session
def test_a_well_formed_entry_with_an_odd_expiry_is_a_miss_that_is_overwritten(world, expiry):
    world.standard()
    world.use_mfa_process()
    assert helper(world).returncode == 0
    name = next(i["username"] for i in world.keyring_items() if i["username"].startswith("role/"))
    world.keyring_set(name, entry(name, expiry))
    result = helper(world)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["AccessKeyId"] != "ASIAODDENTRY00000000"
    assert len(world.sts.calls_of("AssumeRole")) == 2
    assert helper(world).returncode == 0 and len(world.sts.calls_of("AssumeRole")) == 2


def test_an_entry_that_is_not_utf8_is_replaced_not_warned_about_forever(world):
    world.standard()
    world.use_mfa_process()
    assert helper(world).returncode == 0
    name = next(i["username"] for i in world.keyring_items() if i["username"].startswith("role/"))
    code = """
import sys, secretstorage
bus = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(bus)
attributes = {"service": "xaccount-credproc", "username": sys.argv[1],
              "application": "Python keyring library"}
collection.create_item("planted", attributes, b"\\xff\\xfe not text", replace=True)
"""
    subprocess.run([sys.executable, "-c", code, name], env=world.env, check=True, timeout=60)
    for expected_calls in (2, 2):
        result = helper(world)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert len(world.sts.calls_of("AssumeRole")) == expected_calls


# -- bad environment values ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-5", "soon", "1e9"])
def test_a_lock_timeout_that_is_not_finite_is_refused(world, value):
    world.standard()
    world.use_mfa_process()
    result = helper(world, env={"XACCOUNT_CREDPROC_LOCK_TIMEOUT": value})
    line = failure_line(result, f"XACCOUNT_CREDPROC_LOCK_TIMEOUT={value!r} is not a number "
                                    "of seconds from 0 to 3600")
    assert result.returncode == 2, line  # a usage error, as every bad setting
    assert world.sts.calls == []


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("XACCOUNT_CREDPROC_LOCK_TIMEOUT", "soon", "is not a number of seconds"),
    ("XACCOUNT_CREDPROC_PROMPT_TIMEOUT", "soon", "is not a whole number of seconds"),
    ("XACCOUNT_CREDPROC_CACHE_DIR", "relative/dir", "is a relative path"),
])
def test_every_bad_setting_is_a_usage_error_exit_2(world, variable, value, says):
    """On a terminal, where the prompt's bound is read: the same exit code for every setting."""
    from tests.harness.terminal import Terminal

    world.standard()
    term = Terminal([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                    {**world.env, variable: value})
    result = term.finish(timeout=60)
    line = failure_line(result, f"{variable}={value!r} {says}")
    assert result.returncode == 2, line
    assert world.sts.calls_of("AssumeRole") == []


def test_a_keyring_backend_setting_naming_a_missing_module_is_one_warning(world):
    world.standard()
    world.use_mfa_process()
    result = helper(world, env={"PYTHON_KEYRING_BACKEND": "no_such_module.Keyring"})
    assert result.returncode == 0, result.stderr
    (line,) = lines(result.stderr)
    assert ("the keyring backend named by PYTHON_KEYRING_BACKEND='no_such_module.Keyring' "
            "cannot be loaded") in line, line


def test_a_wrong_clock_is_named(world):
    world.standard()
    world.use_mfa_process()
    world.sts.clock_offset = -3 * 3600  # STS says it is three hours earlier than we think
    result = helper(world)
    assert result.returncode == 0, result.stderr
    (line,) = lines(result.stderr)
    assert "this computer's clock is 180 minutes ahead of STS's" in line, line
    world.sts.clock_offset = 0
    assert helper(world, "prod-read-only").stderr == ""  # a hit: no STS, nothing to say


# -- children of a killed helper ------------------------------------------------------------------


def start_with_mfa_script(world, body: str, ready: Path) -> subprocess.Popen:
    """The helper, started as an IDE's aws starts it, with a shell script of `body` as its
    mfa_process; returns once the script has made `ready`."""
    script = world.root / "otp-script.sh"
    script.write_text(f"#!/bin/sh\n{body}")
    script.chmod(0o700)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{script}"\n'))
    process = subprocess.Popen([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                               env=world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert time.monotonic() < deadline, "mfa_process never started"
        time.sleep(0.05)
    return process


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
    while _alive(child):
        assert time.monotonic() < deadline, "mfa_process outlived the helper"
        time.sleep(0.05)


def start_with_grandchild(world) -> tuple[subprocess.Popen, int, int]:
    """The helper with an mfa_process whose shell starts a grandchild and waits: (helper, the
    mfa_process's pid, the grandchild's pid), once both are running."""
    world.standard()
    pids = world.root / "pids"
    process = start_with_mfa_script(
        world, f"sleep 300 &\necho $$ $! > {pids}.tmp\nmv {pids}.tmp {pids}\nwait\n"
               f"echo {MFA_CODE}\n", pids)
    child, grandchild = (int(p) for p in pids.read_text().split())
    return process, child, grandchild


def wait_gone(*pids: int, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)


def test_a_helper_killed_with_sigkill_takes_mfa_process_and_its_grandchild_along(world):
    process, child, grandchild = start_with_grandchild(world)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    wait_gone(child, grandchild)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_helper_stopped_by_a_signal_kills_the_whole_group_and_says_so(world, signum):
    process, child, grandchild = start_with_grandchild(world)
    os.kill(process.pid, signum)
    stdout, stderr = process.communicate(timeout=30)
    wait_gone(child, grandchild)
    assert process.returncode == 128 + signum
    assert stdout == b""
    assert stderr.decode().strip() == (f"xaccount-credproc: MFA code entry interrupted by "
                                       f"{signal.Signals(signum).name}")


def test_a_grandchild_holding_the_output_does_not_keep_the_helper_waiting(world):
    """The code is printed and mfa_process exits, but what it started in the background still
    holds stdout: the helper takes the code within a moment and the holder is killed."""
    world.standard()
    pid_file = world.root / "holder"
    script = world.root / "otp-then-linger.sh"
    script.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {pid_file}\n"
                      f"{world.mfa_process_command()}\n")
    script.chmod(0o700)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{script}"\n'))
    started = time.monotonic()
    result = helper(world)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10  # not the 30 s the holder would have taken
    wait_gone(int(pid_file.read_text()))


def test_an_mfa_process_that_prints_without_end_is_stopped_with_one_line(world):
    world.standard()
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", '[defaults]\nmfa_process = "yes 000000"\n'))
    started = time.monotonic()
    result = helper(world)
    assert time.monotonic() - started < 20
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.strip() == (
        "xaccount-credproc: mfa_process for profile 'prod-read-only' printed more than 16 KiB; "
        "it was stopped; it must print only the 6-digit code on stdout")
    left = subprocess.run(["pgrep", "-x", "yes"], capture_output=True, text=True, check=False)
    wait_gone(*(int(pid) for pid in left.stdout.split()))  # a zombie is gone: init reaps it
    assert world.sts.calls == []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- config inputs that used to end badly ----------------------------------------------------------


def test_an_include_chain_1100_deep_is_one_line(world):
    world.standard()
    for i in range(1100):
        (world.toml.parent / f"inc{i}.toml").write_text(f'include = ["inc{i + 1}.toml"]\n')
    (world.toml.parent / "inc1100.toml").write_text("")
    world.write_toml(world.toml.read_text().replace("[defaults]", 'include = ["inc0.toml"]\n\n'
                                                                  "[defaults]"))
    result = helper(world)
    assert result.returncode == 2
    failure_line(result, "includes nest more than 16 deep")


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_an_include_or_config_that_is_not_a_regular_file_is_one_line_at_once(world, target):
    world.standard()
    if target == "fifo":
        fifo = world.root / "config.fifo"
        os.mkfifo(fifo)
        target = str(fifo)
    world.write_toml(world.toml.read_text().replace("[defaults]", f'include = ["{target}"]\n\n'
                                                                  "[defaults]"))
    started = time.monotonic()
    result = helper(world)
    assert time.monotonic() - started < 10
    assert result.returncode == 2
    failure_line(result, f"config file {target} is not a regular file")
    result = world.run("credential-process", "--profile", "prod-read-only", "--config", target)
    assert result.returncode == 2
    failure_line(result, "is not a regular file")


def test_a_config_with_a_utf8_bom_loads(world):
    world.standard()
    world.use_mfa_process()
    world.toml.write_bytes(b"\xef\xbb\xbf" + world.toml.read_bytes())
    result = helper(world)
    assert result.returncode == 0, result.stderr
    result = world.run("add", "second", "--role-arn", DEPLOY_ARN)
    assert result.returncode == 0, result.stderr
    assert "[profiles.second]" in world.toml.read_text(encoding="utf-8-sig")


def test_version(world):
    result = world.run("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip() == "xaccount-credproc 0.1.0"


def test_a_killed_keyring_daemon_is_named_as_such_not_as_locked(world, own_keyring):
    world.standard()
    world.use_mfa_process()
    env = dict(own_keyring.env)
    assert helper(world, env=env).returncode == 0
    daemon = own_keyring.processes[-1]
    daemon.kill()
    daemon.wait(timeout=10)
    result = helper(world, env=env)
    assert result.returncode == 0, result.stderr
    (line,) = lines(result.stderr)
    assert "no Secret Service answers on the session bus" in line, line
    assert "locked" not in line


@pytest.fixture
def immutable(tmp_path):
    """Make a directory refuse every change, root's too (root ignores mode bits)."""
    made = []

    def freeze(path):
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            unavailable(f"chattr +i is not possible here: {result.stderr.strip()}")
        made.append(path)

    yield freeze
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.mark.parametrize("command", [["add", "second", "--role-arn", DEPLOY_ARN],
                                     ["remove", "prod-read-only"]])
def test_add_and_remove_in_a_directory_that_cannot_be_written_are_one_line(world, immutable,
                                                                           command):
    world.standard()
    before = world.toml.read_text()
    immutable(world.toml.parent)
    result = world.run(*command)
    assert result.returncode == 2 and result.stdout == ""
    failure_line(result, f"cannot write {world.toml}: Operation not permitted")
    assert world.toml.read_text() == before


def test_an_mfa_process_that_times_out_is_killed_with_everything_it_started(tmp_path):
    """run_bounded is what runs mfa_process (with 120 s; 1 s here): a shell whose background
    child holds the output pipe open must not keep the helper waiting, nor outlive it."""
    from xaccount_credproc.prompt.process import run_bounded

    pid_file = tmp_path / "grandchild"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run_bounded(["sh", "-c", script], 1)
    assert time.monotonic() - started < 8
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild):
        assert time.monotonic() < deadline, "the background child outlived the timeout"
        time.sleep(0.05)


def test_an_mfa_process_that_finishes_keeps_what_it_started(tmp_path):
    """A program that starts a daemon (gpg-agent, a YubiKey helper) and prints the code keeps
    its daemon."""
    from xaccount_credproc.prompt.process import run_bounded

    pid_file = tmp_path / "daemon"
    # In the same process group (no setsid): a group kill on success would take it too.
    script = f"sleep 30 </dev/null >/dev/null 2>&1 & echo $! > {pid_file}; echo 845271"
    result = run_bounded(["sh", "-c", script], 10)
    assert result.returncode == 0 and result.stdout.strip() == b"845271"
    daemon = int(pid_file.read_text())
    try:
        assert _alive(daemon)
    finally:
        os.kill(daemon, signal.SIGKILL)


def test_a_cache_dir_that_cannot_be_written_is_one_warning_and_credentials(world, immutable):
    world.standard()
    world.use_mfa_process()
    world.cache_dir.mkdir(parents=True, mode=0o700)
    immutable(world.cache_dir)  # no locks, no snapshots can be made there
    result = helper(world)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    (line,) = lines(result.stderr)
    assert line.startswith(f"xaccount-credproc: warning: the cache directory {world.cache_dir}/")
    assert "cannot be created (Operation not permitted), so it is not used" in line, line


# -- a locks directory that cannot be written ------------------------------------------------------


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
        (line,) = lines(result.stderr)
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
    (line,) = lines(result.stderr)
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
    (line,) = lines(result.stderr)
    assert "and no other directory for locks can be made" in line, line
    assert list(precious.iterdir()) == []


@pytest.mark.parametrize(("levels", "loads"), [(16, True), (17, False)])
def test_an_include_chain_loads_16_levels_deep_and_refuses_the_17th(world, levels, loads):
    """README: includes nested *more than* 16 deep are an error; 16 levels load."""
    world.standard()
    world.use_mfa_process()
    for i in range(levels):
        (world.toml.parent / f"inc{i}.toml").write_text(
            f'include = ["inc{i + 1}.toml"]\n' if i + 1 < levels else
            '[profiles.deep]\nrole_arn = "arn:aws:iam::222222222222:role/Deep"\n')
    world.write_toml(world.toml.read_text().replace("[defaults]", 'include = ["inc0.toml"]\n\n'
                                                                  "[defaults]"))
    result = world.run("doctor")
    if loads:
        assert "TOML config" in result.stdout and "profiles from 17 file(s)" in result.stdout, (
            result.stdout + result.stderr)
    else:
        assert "includes nest more than 16 deep" in result.stdout
