"""Nothing local that another process could have written is trusted: profile snapshots and the cache
directory (planted by a second, unprivileged user), replies on the session bus (a stand-in peer
that sends malformed messages), and loops back into the helper through a wrapper."""

import json
import os
import random
import subprocess
import sys
import time

import pytest

from tests.harness import fake_dbus
from tests.harness.checks import nonblank_lines
from tests.harness.setups import DEPLOY_ARN, identity_and_direct_run
from tests.harness.world import ASSUMED, HELPER, MFA_CODE, ROLE_ARN


def add_deploy(world) -> None:
    world.sts.add_role(DEPLOY_ARN, mfa_required=True)
    world.write_toml(world.toml.read_text() + f'\n[profiles.deploy]\nrole_arn = "{DEPLOY_ARN}"\n')
    world.write_aws_config("prod-read-only", "deploy")


def settle(world) -> None:
    """Wait until the config files are past the snapshot's 2 s "racy" window."""
    newest = max(p.stat().st_ctime for p in [world.toml])
    time.sleep(max(0.0, newest + 2.2 - time.time()))


def forged_snapshot(world, cache_dir, profile: str, overrides: dict) -> tuple[bytes, str]:
    """A snapshot for `profile` that is valid in every respect (tag, files, name) but
    carries `overrides`: what an attacker who can write the cache dir would plant."""
    code = """
import marshal, os, sys, json
os.environ.update(json.loads(sys.argv[1]))
from xaccount_credproc.config import loader as config, snapshot as resolved
path, name, overrides = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
loaded = config.load(path)
profile = loaded.resolve(name).as_dict()
profile.update(overrides)
data = {"format": resolved.FORMAT, "name": name, "config": os.path.abspath(path),
        "env": [os.environ.get(v) for v in resolved.USER_VARIABLES],
        "files": [resolved._file_identity(str(p)) for p in loaded.files], "profile": profile}
body = marshal.dumps(data)
sys.stdout.buffer.write(resolved.MAGIC + resolved._tag(body) + body)
print(resolved._snapshot_path(path, name), file=sys.stderr)
"""
    env = {**world.env, "XACCOUNT_CREDPROC_CACHE_DIR": str(cache_dir)}
    result = subprocess.run([sys.executable, "-c", code, json.dumps(env), str(world.toml), profile,
                             json.dumps(overrides)], capture_output=True, check=True, env=env)
    return result.stdout, result.stderr.decode().strip()


def plant(user, path: str, data: bytes) -> None:
    """Write `path` as `user` (its directory must let them)."""
    result = subprocess.run(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", path],
                            input=data, user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                            capture_output=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def snapshot_files(world):
    return sorted((world.cache_dir / "profiles").glob("*.snapshot"))


def snapshot_name(world, profile: str) -> str:
    code = ("import sys, os; from xaccount_credproc.config import snapshot as resolved; "
            "print(os.path.basename(resolved._snapshot_path(sys.argv[1], sys.argv[2])))")
    return subprocess.run([sys.executable, "-c", code, str(world.toml), profile], env=world.env,
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def right(world, monkeypatch):
    """Two profiles, this process in the world's environment (in-process for speed: the paths
    read are exactly those the installed helper reads), past the snapshot's racy window.
    Returns prod-read-only as the config resolves it."""
    from xaccount_credproc.config import loader as config

    world.standard()
    world.use_mfa_process()
    add_deploy(world)
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    settle(world)
    return config.load(world.toml).resolve("prod-read-only")


@pytest.mark.parametrize("layout", ["world-writable", "owned-by-other-user"])
def test_snapshots_planted_by_another_user_are_never_used(world, mallory, public_tmp, tmp_path,
                                                          layout):
    world.standard()
    world.use_mfa_process()
    add_deploy(world)
    shared = public_tmp / "shared-cache"
    if layout == "world-writable":
        shared.mkdir(mode=0o777)
        shared.chmod(0o1777)
    else:
        shared.mkdir(mode=0o755)
        os.chown(shared, mallory.pw_uid, mallory.pw_gid)
    marker = tmp_path / "planted-command-ran"
    settle(world)
    # deploy's role under prod-read-only's name, and a command of mallory's as mfa_process.
    data, path = forged_snapshot(world, shared, "prod-read-only", {
        "role_arn": DEPLOY_ARN, "mfa_process": f"sh -c 'touch {marker}; echo {MFA_CODE}'"})
    plant(mallory, path, data)
    env = {"XACCOUNT_CREDPROC_CACHE_DIR": str(shared)}
    for _ in range(2):
        arn, result = identity_and_direct_run(world, env=env)
        assert arn == ASSUMED
        (line,) = nonblank_lines(result.stderr)
        assert "the cache directory" in line and "so it is not used" in line, line
        assert ("writable by other users" in line if layout == "world-writable"
                else "belongs to another user" in line), line
    assert not marker.exists()
    assert world.sts.calls_of("AssumeRole")[0].params["RoleArn"] == ROLE_ARN
    # Nothing of ours was written into the shared directory, and its mode is untouched.
    assert {p.name for p in shared.rglob("*")} <= {"profiles", os.path.basename(path)}
    assert (shared.stat().st_mode & 0o7777) == (0o1777 if layout == "world-writable" else 0o755)


def test_a_cache_path_that_links_to_a_shared_directory_is_never_chmodded(world, tmp_path):
    world.standard()
    world.use_mfa_process()
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    shared.chmod(0o1777)
    link = tmp_path / "cache-link"
    link.symlink_to(shared)
    arn, result = identity_and_direct_run(world, env={"XACCOUNT_CREDPROC_CACHE_DIR": str(link)})
    assert arn == ASSUMED
    (line,) = nonblank_lines(result.stderr)
    assert "writable by other users" in line
    assert (shared.stat().st_mode & 0o7777) == 0o1777


def test_a_cache_dir_that_is_missing_is_created_private_and_a_loose_one_is_tightened(world):
    world.standard()
    world.use_mfa_process()
    identity_and_direct_run(world)
    assert (world.cache_dir.stat().st_mode & 0o777) == 0o700
    world.cache_dir.chmod(0o755)
    (world.cache_dir / "locks").chmod(0o750)
    assert world.run("clear", "--all").returncode == 0  # the next call takes a lock
    identity_and_direct_run(world)
    assert (world.cache_dir.stat().st_mode & 0o777) == 0o700
    assert ((world.cache_dir / "locks").stat().st_mode & 0o777) == 0o700


def test_a_group_writable_cache_dir_of_ours_is_refused_and_left_as_it_is(world):
    """Not used, so not chmodded either: the warning and the directory agree."""
    world.standard()
    world.use_mfa_process()
    world.cache_dir.mkdir(parents=True)
    world.cache_dir.chmod(0o775)
    for _ in range(2):
        arn, result = identity_and_direct_run(world)
        assert arn == ASSUMED
        (line,) = nonblank_lines(result.stderr)
        assert line.startswith(f"xaccount-credproc: warning: the cache directory "
                               f"{world.cache_dir} is writable by other users, so it is not "
                               "used"), line
    assert (world.cache_dir.stat().st_mode & 0o777) == 0o775
    assert list(world.cache_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_an_unusable_cache_dir_is_one_warning_and_credentials(world, tmp_path, kind):
    world.standard()
    world.use_mfa_process()
    target = tmp_path / "cache"
    if kind == "file":
        target.write_text("not a directory\n")
    else:
        target.mkdir(mode=0o700)
        (target / "profiles").write_text("")  # a file where a directory must be
    arn, result = identity_and_direct_run(world, env={"XACCOUNT_CREDPROC_CACHE_DIR": str(target)})
    assert arn == ASSUMED
    (line,) = nonblank_lines(result.stderr)
    assert line.startswith("xaccount-credproc: warning: the cache directory"), line
    assert "Traceback" not in result.stderr


def test_a_swapped_snapshot_never_serves_another_profiles_role(world):
    world.standard()
    world.use_mfa_process()
    add_deploy(world)
    settle(world)
    identity_and_direct_run(world)
    identity_and_direct_run(world, "deploy")
    prod, deploy = (os.path.join(world.cache_dir, "profiles", n) for n in (
        snapshot_name(world, "prod-read-only"), snapshot_name(world, "deploy")))
    assert os.path.exists(prod) and os.path.exists(deploy)
    os.replace(deploy, prod)
    items = {i["username"] for i in world.keyring_items()}
    arn, result = identity_and_direct_run(world)
    assert arn == ASSUMED and result.stderr == ""
    assert {i["username"] for i in world.keyring_items()} == items  # no stray entries
    assert len(world.sts.calls_of("AssumeRole")) == 2  # the hit came from the cache


def test_300_mutations_of_a_snapshot_give_the_right_profile_or_a_reparse(world, right):
    from xaccount_credproc.config import snapshot as resolved

    assert resolved.load_profile(world.toml, "prod-read-only") == right
    (path,) = [p for p in snapshot_files(world)
               if p.name == snapshot_name(world, "prod-read-only")]
    original = path.read_bytes()
    rng = random.Random(1348)
    for round_ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            how = rng.choice(["flip", "truncate", "insert", "delete"])
            at = rng.randrange(len(data))
            if how == "flip":
                data[at] ^= 1 << rng.randrange(8)
            elif how == "truncate":
                del data[at:]
            elif how == "insert":
                data[at:at] = os.urandom(rng.randint(1, 8))
            elif len(data) > 1:
                del data[at]
        path.write_bytes(bytes(data))
        warnings: list[str] = []
        assert resolved.load_profile(world.toml, "prod-read-only", warnings) == right, round_
        assert warnings == []
        assert path.read_bytes() != bytes(data) or bytes(data) == original  # rewritten


@pytest.mark.parametrize("override", [
    {"name": "deploy"}, {"duration_seconds": "3600"}, {"mfa_session": 1},
    {"external_id": 12345}, {"role_arn": None}, {"mfa_process": ["sh", "-c", "id"]},
    {"extra_field": "x"}])
def test_a_well_tagged_snapshot_of_the_wrong_shape_is_reparsed(world, right, override):
    from xaccount_credproc.config import snapshot as resolved

    data, path = forged_snapshot(world, world.cache_dir, "prod-read-only", override)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    assert resolved.load_profile(world.toml, "prod-read-only") == right


def test_a_snapshot_that_cannot_be_replaced_leaves_no_temp_file(world):
    world.standard()
    world.use_mfa_process()
    settle(world)
    identity_and_direct_run(world)
    (path,) = snapshot_files(world)
    path.unlink()
    path.mkdir()  # os.replace onto a directory fails
    arn, result = identity_and_direct_run(world)
    assert arn == ASSUMED and result.stderr == ""
    assert not [p for p in (world.cache_dir / "profiles").iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("mode", fake_dbus.MODES)
def test_the_dbus_reader_gives_up_in_time_on_any_malformed_reply(tmp_path, monkeypatch, mode):
    from xaccount_credproc.backends import dbus, secret_service

    bus = fake_dbus.FakeBus(str(tmp_path), mode)
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        started = time.monotonic()
        with pytest.raises(dbus.Unusable) as refused:
            secret_service.read("xaccount-credproc", ["role/x"])
        took = time.monotonic() - started
        assert took < secret_service.TIMEOUT + 0.5, took
        slow = mode in ("silent", "trickle")
        assert isinstance(refused.value, dbus.NoAnswer if slow
                          else dbus.Malformed), refused.value
        assert "SearchItems" in bus.calls  # it got as far as the malformed reply
    finally:
        bus.stop()


@pytest.mark.parametrize("mode", ["huge-length", "empty-struct", "wrong-sender", "silent"])
def test_a_malformed_bus_still_gets_credentials_with_one_warning(world, mode, tmp_path):
    world.standard()
    world.use_mfa_process()
    bus = fake_dbus.FakeBus(str(tmp_path), mode)
    try:
        started = time.monotonic()
        arn, result = identity_and_direct_run(world, env={"DBUS_SESSION_BUS_ADDRESS": bus.address})
        took = time.monotonic() - started
        assert arn == ASSUMED
        (line,) = nonblank_lines(result.stderr)
        assert line.startswith("xaccount-credproc: warning: the Secret Service "), line
        assert "so credentials are kept in the kernel keyring meanwhile" in line, line
        assert took < 20, took  # two runs: aws, then the helper alone
    finally:
        bus.stop()


def test_a_wrapper_that_scrubs_the_environment_cannot_make_the_helper_loop(world):
    world.standard()
    world.use_mfa_process()
    wrapper = world.root / "company-wrapper.sh"
    keep = " ".join(f"{k}='{v}'" for k, v in world.env.items())
    wrapper.write_text(f"#!/bin/sh\nexec env -i {keep} {HELPER} credential-process "
                       "--profile prod-read-only\n")
    wrapper.chmod(0o755)
    world.write_credentials("")
    world.aws_config.write_text(world.aws_config.read_text()
                                + f"[profile dev]\ncredential_process = {wrapper}\n")
    started = time.monotonic()
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only", timeout=120)
    assert time.monotonic() - started < 60
    assert result.returncode != 0
    assert "started again for profile 'prod-read-only'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert world.sts.calls == []
