"""Nothing hangs and nothing ends in `internal error`: a mute STS, a stopped (SIGSTOP) keyring
daemon, odd cache entries, bad environment values, a wrong clock, a directory that cannot be
written, include chains. Real parts throughout: the installed helper, the real `aws` CLI, the
STS emulator, gnome-keyring on a private bus."""

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import ports
from tests.harness.checks import failure_line, nonblank_lines
from tests.harness.keyring_daemon import SecretServiceDaemon
from tests.harness.setups import DEPLOY_ARN, helper
from tests.harness.world import HELPER


@pytest.fixture
def mute_sts():
    """Accepts connections (the kernel completes them) and never answers."""
    server = ports.fresh_socket()
    server.listen(64)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


@pytest.fixture
def own_keyring(tmp_path):
    daemon = SecretServiceDaemon(tmp_path / "own-keyring").start()
    try:
        yield daemon
    finally:
        if daemon.processes[-1].poll() is None:  # a test may have stopped (SIGSTOP) it
            os.kill(daemon.processes[-1].pid, signal.SIGCONT)
        daemon.stop()


def entry(name: str, expiry: str) -> str:
    payload = "\n".join([name, "ASIAODDENTRY00000000", "oddSecret", "oddToken", expiry])
    return f"xcp1 1 {zlib.crc32(payload.encode()):08x} {payload}"


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
        # The code is on the AssumeRole: sent once, and the line says so (not the setting).
        failure_line(result, f"{mute_sts}/ accepted the connection but did not answer "
                             "AssumeRole within 5s (sent once: a call that carries an MFA code "
                             "is never sent twice); STS or a proxy in between is stuck")
    # One try of 5 s for the one caller that tries; the others get its failure at once (the
    # rest is starting four helpers on a busy machine).
    assert took < 25, took


def test_a_mute_sts_on_a_call_without_a_code_says_it_was_sent_twice(world, mute_sts):
    world.standard(mfa_required=False)
    world.write_toml(world.toml.read_text().replace("mfa_serial = ", "# mfa_serial = "))
    started = time.monotonic()
    result = helper(world, env={"AWS_ENDPOINT_URL_STS": mute_sts})
    took = time.monotonic() - started
    failure_line(result, f"{mute_sts}/ accepted the connection but did not answer AssumeRole "
                         "within 5s, each of the 2 times it was sent; STS or a proxy in "
                         "between is stuck", code=3)
    assert 9 < took < 30, took  # two reads of 5 s: what the line says is what happened


@pytest.mark.parametrize("code_on_the_call", [True, False], ids=["with-a-code", "without"])
def test_a_refused_connection_says_how_often_it_was_tried(world, code_on_the_call):
    closed = ports.fresh_socket()
    refused = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()  # nothing listens there: each connection is refused at once
    world.standard(mfa_required=code_on_the_call)
    if code_on_the_call:
        world.use_mfa_process("mfa_session = false\n")
        tried = " (tried once: a call that carries an MFA code is never sent twice)"
    else:
        world.write_toml(world.toml.read_text().replace("mfa_serial = ", "# mfa_serial = "))
        tried = ", each of the 2 times it was tried"
    result = helper(world, env={"AWS_ENDPOINT_URL_STS": refused})
    failure_line(result, f"cannot reach {refused}/ (EndpointConnectionError){tried}; check the "
                         "network, proxy settings and AWS_ENDPOINT_URL_STS", code=3)


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
            (line,) = nonblank_lines(result.stderr)
            assert line.startswith("xaccount-credproc: warning: the Secret Service did not "
                                   "answer within 2s, so credentials are kept in the kernel "
                                   "keyring meanwhile"), line
        assert took < 20, (profile, took)
        assert len(world.sts.calls_of("AssumeRole")) == calls + 1, profile
    # One MFA session (one code) for both profiles while the daemon hung.
    assert counter.read_text().count("run") == 1


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
    (line,) = nonblank_lines(result.stderr)
    assert ("the keyring backend named by PYTHON_KEYRING_BACKEND='no_such_module.Keyring' "
            "cannot be loaded") in line, line


def test_a_wrong_clock_is_named(world):
    world.standard()
    world.use_mfa_process()
    world.sts.clock_offset = -3 * 3600  # STS says it is three hours earlier than we think
    result = helper(world)
    assert result.returncode == 0, result.stderr
    (line,) = nonblank_lines(result.stderr)
    assert "this computer's clock is 180 minutes ahead of STS's" in line, line
    world.sts.clock_offset = 0
    assert helper(world, "prod-read-only").stderr == ""  # a hit: no STS, nothing to say


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
    (line,) = nonblank_lines(result.stderr)
    assert "no Secret Service answers on the session bus" in line, line
    assert "locked" not in line


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


def test_a_cache_dir_that_cannot_be_written_is_one_warning_and_credentials(world, immutable):
    world.standard()
    world.use_mfa_process()
    world.cache_dir.mkdir(parents=True, mode=0o700)
    immutable(world.cache_dir)  # no locks, no snapshots can be made there
    result = helper(world)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    (line,) = nonblank_lines(result.stderr)
    assert line.startswith(f"xaccount-credproc: warning: the cache directory {world.cache_dir}/")
    assert "cannot be created (Operation not permitted), so it is not used" in line, line


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
