"""The keyring cache and its locks, end to end: the real `aws` CLI and the installed helper, the real
Secret Service (gnome-keyring on a private D-Bus) and the recording STS server."""

import errno
import json
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.harness.kernel_keys import refuse_keyctl
from tests.harness.keyring_daemon import SecretServiceDaemon
from tests.harness.mfa import counting_mfa, parallel_cold_aws_calls, times_asked
from tests.harness.world import ALICE_KEY, EXTERNAL_ID, HELPER, MFA_SERIAL, ROLE_ARN

ROOT = Path(__file__).resolve().parents[1]
ADMIN_ARN = "arn:aws:iam::333333333333:role/Admin"


def helper_json(world, profile="prod-read-only", **kwargs) -> dict:
    result = world.run("credential-process", "--profile", profile, **kwargs)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def add_admin_profile(world) -> None:
    world.sts.add_role(ADMIN_ARN, mfa_required=True)
    world.write_toml(world.toml.read_text() + f'\n[profiles.admin]\nrole_arn = "{ADMIN_ARN}"\n')
    world.write_aws_config("prod-read-only", "admin")


# -- one STS call and one MFA prompt -----------------------------------------------------------


def test_second_call_is_served_from_the_keyring(world, kernel_keys_made_here):
    world.standard()
    counter = counting_mfa(world)
    first = helper_json(world)
    second = helper_json(world)
    assert first == second
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert times_asked(counter) == 1
    names = sorted(item["username"] for item in world.keyring_items())
    assert [n.split("/")[0] for n in names] == ["mfa-session", "role"]
    # The record of the MFA code just used (credentials/mfa_codes.py: a code is good once) is
    # in the kernel keyring, which drops it after 90 s.
    (record,) = kernel_keys_made_here.ours()
    assert record.description.split(":", 1)[1].startswith("mfa-code/")
    assert all(item["service"] == "xaccount-credproc" for item in world.keyring_items())


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


def test_two_roles_behind_one_mfa_device_need_one_code(world):
    world.standard()
    counter = counting_mfa(world)
    add_admin_profile(world)
    for profile in ("prod-read-only", "admin"):
        result = world.aws("sts", "get-caller-identity", "--profile", profile)
        assert result.returncode == 0, result.stderr
    assert times_asked(counter) == 1
    assert len(world.sts.calls_of("GetSessionToken")) == 1
    assert [c.params["RoleArn"] for c in world.sts.calls_of("AssumeRole")] == [ROLE_ARN, ADMIN_ARN]
    session_key = world.sts.calls_of("AssumeRole")[0].caller
    assert world.sts.calls_of("AssumeRole")[1].caller == session_key
    assert world.sts.keys[session_key].kind == "mfa-session"


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


def test_temporary_source_credentials_fall_back_to_mfa_on_assume_role(world):
    world.standard()
    counter = counting_mfa(world)
    world.write_credentials(
        f"[dev]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = x\n"
        "aws_session_token = not-a-real-token\n")
    world.sts.keys[ALICE_KEY].session_token = "not-a-real-token"
    result = world.run("credential-process", "--profile", "prod-read-only", "--debug")
    assert result.returncode == 0, result.stderr
    assert "MFA goes on AssumeRole itself: the source profile has temporary credentials" in (
        result.stderr)
    assert world.sts.calls_of("GetSessionToken") == []
    (call,) = world.sts.calls_of("AssumeRole")
    assert call.params["SerialNumber"] == MFA_SERIAL
    assert times_asked(counter) == 1
    helper_json(world)  # the role credentials are cached all the same
    assert times_asked(counter) == 1


def test_role_longer_than_the_mfa_session_falls_back_to_mfa_on_assume_role(world):
    world.standard()
    counting_mfa(world)
    world.write_toml(world.toml.read_text() + "duration_seconds = 3600\n"
                     "mfa_session_duration = 1800\n")
    result = world.run("credential-process", "--profile", "prod-read-only", "--debug")
    assert result.returncode == 0, result.stderr
    assert "mfa_session_duration 1800s is shorter than duration_seconds 3600s" in result.stderr
    assert world.sts.calls_of("GetSessionToken") == []


def test_a_revoked_mfa_session_is_replaced(world):
    world.standard()
    counter = counting_mfa(world)
    add_admin_profile(world)
    helper_json(world)
    session_key = world.sts.calls_of("AssumeRole")[0].caller
    world.sts.expire_key(session_key)
    helper_json(world, "admin")
    assert len(world.sts.calls_of("GetSessionToken")) == 2
    assert times_asked(counter) == 2
    assert [c.status for c in world.sts.calls_of("AssumeRole")] == [200, 403, 200]


# -- expiry ------------------------------------------------------------------------------------


def test_credentials_are_refreshed_when_they_cross_the_refresh_margin(world):
    world.standard()
    counting_mfa(world)
    world.sts.lifetime = 1200 + 6  # servable for 6 seconds past the default 1200 s margin
    first = helper_json(world)
    assert helper_json(world) == first  # still more than the margin left
    assert len(world.sts.calls_of("AssumeRole")) == 1
    time.sleep(7)
    third = helper_json(world)
    assert third["AccessKeyId"] != first["AccessKeyId"]
    assert len(world.sts.calls_of("AssumeRole")) == 2


def test_credentials_with_less_than_the_margin_left_are_never_served_from_the_cache(world):
    world.standard()
    counting_mfa(world)
    world.sts.lifetime = 1100  # less than the 1200 s margin from the start
    keys = {helper_json(world)["AccessKeyId"] for _ in range(3)}
    assert len(keys) == 3
    assert len(world.sts.calls_of("AssumeRole")) == 3


def test_refresh_margin_is_configurable(world):
    world.standard()
    counting_mfa(world)
    world.write_toml(world.toml.read_text() + "refresh_margin = 1000\n")
    world.sts.lifetime = 1100
    assert helper_json(world) == helper_json(world)
    assert len(world.sts.calls_of("AssumeRole")) == 1


# -- locks -------------------------------------------------------------------------------------


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


# -- bad entries and keyring trouble -------------------------------------------------------------


@pytest.mark.parametrize("garbage", ["", "garbage", "xcp1 2 00000000 {", "xcp9 1 0 {}",
                                     "xcp1 1 00000000 " + "x" * 2000])
def test_corrupt_or_foreign_entries_are_misses_that_get_overwritten(world, garbage):
    world.standard()
    counting_mfa(world)
    helper_json(world)
    role_entry = next(i["username"] for i in world.keyring_items()
                      if i["username"].startswith("role/"))
    world.keyring_set(role_entry, garbage)
    second = helper_json(world)
    assert len(world.sts.calls_of("AssumeRole")) == 2
    third = helper_json(world)
    assert third == second and len(world.sts.calls_of("AssumeRole")) == 2


def test_locked_keyring_still_returns_credentials_with_one_warning(world, tmp_path):
    daemon = SecretServiceDaemon(tmp_path / "locked").start()
    try:
        daemon.lock()
        world.standard()
        counting_mfa(world)
        env = dict(daemon.env)
        started = time.monotonic()
        result = world.run("credential-process", "--profile", "prod-read-only", env=env)
        assert time.monotonic() - started < 30
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
        assert result.stderr.strip() == (
            "xaccount-credproc: warning: the OS keyring is locked, so credentials are kept in "
            "the kernel keyring meanwhile; "
            "unlock it (log in to your desktop session, or run 'gnome-keyring-daemon --unlock'), "
            'or set cache = "none" in the config to stop using the keyring')
    finally:
        daemon.stop()


@pytest.mark.parametrize("refusal", [errno.EPERM, errno.ENOSYS])
def test_absent_keyring_still_returns_credentials_with_one_warning(world, tmp_path, refusal):
    """No Secret Service, and a kernel that refuses keyctl (a container's seccomp profile)."""
    world.standard()
    counter = counting_mfa(world)
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    result = world.run("credential-process", "--profile", "prod-read-only", env=env,
                       preexec_fn=refuse_keyctl(refusal))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("xaccount-credproc: warning: ")
    assert "credentials are not cached" in result.stderr and 'cache = "none"' in result.stderr
    assert "no Secret Service answers" in result.stderr
    assert f"the kernel refuses keyctl ({errno.errorcode[refusal]}" in result.stderr
    # Without a cache the MFA code goes on AssumeRole (an MFA session could not be kept).
    assert world.sts.calls_of("GetSessionToken") == []
    assert times_asked(counter) == 1


def test_cache_none_calls_sts_every_time_and_writes_nothing(world):
    world.standard()
    counting_mfa(world)
    world.write_toml(world.toml.read_text() + 'cache = "none"\n')
    helper_json(world)
    helper_json(world)
    assert len(world.sts.calls_of("AssumeRole")) == 2
    assert world.keyring_items() == []


def test_entries_fit_a_keyring_with_the_windows_size_limit(world):
    world.standard()
    counting_mfa(world)
    world.sts.token_length = 3000  # a session token with many session tags
    store = world.root / "limited-keyring.json"
    env = {"PYTHON_KEYRING_BACKEND": "tests.harness.limited_keyring.LimitedKeyring",
           "LIMITED_KEYRING_FILE": str(store), "PYTHONPATH": str(ROOT)}
    first = helper_json(world, env=env)
    assert len(first["SessionToken"]) == 3000
    assert helper_json(world, env=env) == first
    assert len(world.sts.calls_of("AssumeRole")) == 1
    data = json.loads(store.read_text())
    assert 0 < data["largest"] <= 2560
    assert len(data["items"]) >= 6  # role and MFA session entries, split into chunks
    assert world.keyring_items() == []  # the fast path did not write to Secret Service


# -- list and clear ----------------------------------------------------------------------------


def test_list_shows_cache_state_and_time_left_without_secrets(world):
    world.standard()
    counting_mfa(world)
    add_admin_profile(world)
    world.write_toml(world.toml.read_text() + '\n[profiles.nocache]\nrole_arn = "'
                     f'{ROLE_ARN}"\nexternal_id = "{EXTERNAL_ID}"\ncache = "none"\n')
    doc = helper_json(world)
    result = world.run("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PROFILE", "ROLE", "CACHED", "TIME", "LEFT", "MFA", "CHAIN"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:lines.index("")]}
    assert rows["prod-read-only"][:3] == [ROLE_ARN, "yes", "59m"]
    assert rows["prod-read-only"][-3:] == ["dev", "→", "prod-read-only"]
    assert rows["prod-read-only"][3].startswith("session:11h")
    assert rows["admin"][:3] == [ADMIN_ARN, "no", "-"]
    assert rows["admin"][3].startswith("session:11h")  # the MFA session is shared
    assert rows["nocache"][1:4] == ["off", "-", "own-code"]
    assert '  nocache: cache = "none": the MFA session could not be cached' in result.stdout
    for secret in (doc["SecretAccessKey"], doc["SessionToken"], doc["AccessKeyId"]):
        assert secret not in result.stdout + result.stderr


def test_clear_one_profile_then_all(world):
    world.standard()
    counter = counting_mfa(world)
    add_admin_profile(world)
    helper_json(world)
    helper_json(world, "admin")

    def cached():  # not the record of the last MFA code, which clear leaves (90 s at most)
        return [i for i in world.keyring_items() if not i["username"].startswith("mfa-code/")]

    assert len(cached()) == 3
    result = world.run("clear", "admin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("removed 2 cached entries for profile 'admin' "
                                     "(role credentials and MFA sessions)")
    assert len(cached()) == 1
    result = world.run("clear", "--all")
    assert result.stdout.startswith("removed 1 cached entry for all profiles")
    assert cached() == []
    helper_json(world)
    assert times_asked(counter) == 2  # a cleared MFA session means a new code


def test_clear_needs_a_name_or_all(world):
    world.standard()
    for args in (["clear"], ["clear", "admin", "--all"]):
        result = world.run(*args)
        assert result.returncode == 2
        assert result.stderr.strip() == ("xaccount-credproc: name one profile or use --all; "
                                         "e.g. 'xaccount-credproc clear prod'")
    result = world.run("clear", "nope")
    assert result.returncode == 2 and "profile 'nope' is not in" in result.stderr


# -- the hot path ------------------------------------------------------------------------------


def imported_modules(world, *extra_env) -> set[str]:
    result = world.run("credential-process", "--profile", "prod-read-only",
                       env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")}


def test_a_cache_hit_imports_neither_boto3_nor_keyring_nor_a_toml_parser(world):
    world.standard()
    counting_mfa(world)
    config_written = time.time()
    helper_json(world)  # fills the cache
    time.sleep(max(0.0, config_written + 2.1 - time.time()))  # past the snapshot's racy window
    helper_json(world)  # writes the resolved-profile snapshot
    modules = imported_modules(world)
    assert "xaccount_credproc.backends.secret_service" in modules  # the Secret Service was read directly
    for heavy in ("boto3", "botocore", "keyring", "secretstorage", "jeepney", "tomllib",
                  "tomlkit", "filelock", "argparse", "json", "re", "pathlib", "socket",
                  "dataclasses", "subprocess", "contextlib", "xaccount_credproc.config.loader",
                  "xaccount_credproc.prompt.mfa", "xaccount_credproc.credentials.locking"):
        assert heavy not in modules, heavy
    assert len(world.sts.calls_of("AssumeRole")) == 1


def test_a_config_change_is_seen_at_once_despite_the_snapshot(world):
    world.standard()
    counting_mfa(world)
    helper_json(world)
    time.sleep(2.1)
    helper_json(world)
    world.write_toml(world.toml.read_text().replace(EXTERNAL_ID, "WrongId"))
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 3  # a new key (another ExternalId), and STS refuses it
    assert "AWS denied AssumeRole" in result.stderr
