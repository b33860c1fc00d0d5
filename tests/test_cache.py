"""The credential cache: its entry format and keys (unit tests with an in-memory store), the
Secret Service fast path against the real gnome-keyring (it must read exactly what keyring
wrote), and the cache end to end through the real `aws` CLI: hits, the refresh margin, corrupt
or foreign entries, a locked or absent keyring, cache = "none", Windows' size limit, and a hit
that imports nothing heavy."""

import errno
import json
import time
from pathlib import Path

import pytest

from tests.harness.kernel_keys import refuse_keyctl
from tests.harness.keyring_daemon import SecretServiceDaemon
from tests.harness.memory_store import MemoryStore
from tests.harness.mfa import counting_mfa, times_asked
from tests.harness.setups import helper_json
from tests.harness.world import EXTERNAL_ID
from xaccount_credproc.backends import secret_service
from xaccount_credproc.config import Profile
from xaccount_credproc.credentials import Credentials, cache
from xaccount_credproc.credentials.cache import CHUNK, CredentialCache, decode, encode


def creds(token_length=400) -> Credentials:
    return Credentials("ASIAEXAMPLE000000001", "s" * 40, "t" * token_length or None,
                       int(time.time()) + 3600)


@pytest.fixture
def keyring_env(secret_service, monkeypatch):
    for key, value in secret_service.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")  # no keyringrc.cfg
    import keyring.core

    keyring.core.init_backend()
    return keyring


ROOT = Path(__file__).resolve().parents[1]


def imported_modules(world, *extra_env) -> set[str]:
    result = world.run("credential-process", "--profile", "prod-read-only",
                       env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")}


@pytest.mark.parametrize("token_length", [0, 100, 1100, 1200, 2500, 6000])
def test_round_trip_and_every_chunk_fits_windows_credential_manager(token_length):
    original = creds(token_length)
    chunks = encode("role/abc", original)
    assert all(len(c) <= CHUNK for c in chunks)
    assert all(len(c.encode("utf-16-le")) <= 2560 for c in chunks)
    assert decode("role/abc", chunks) == original


def test_a_typical_entry_is_one_chunk():
    assert len(encode("role/abc", creds(1000))) == 1


@pytest.mark.parametrize("damage", [
    lambda chunks: [chunks[0][:-5], *chunks[1:]],  # truncated
    lambda chunks: [chunks[0].replace("xcp2", "xcp9", 1), *chunks[1:]],  # future version
    lambda chunks: [chunks[0].replace("xcp2", "xcp1", 1), *chunks[1:]],  # the old check
    lambda chunks: [chunks[0]],  # a missing piece
    lambda chunks: [chunks[0], None],
    lambda chunks: ["not ours at all", *chunks[1:]],
    lambda chunks: ["xcp1 999 00000000 {}"],
    lambda chunks: [chunks[0][:40] + "X" + chunks[0][41:], *chunks[1:]],  # flipped character
    lambda chunks: [],
    lambda chunks: [""],
])
def test_damaged_entries_read_as_misses(damage):
    chunks = encode("role/abc", creds(2500))
    assert len(chunks) == 3
    assert decode("role/abc", damage(chunks)) is None


def test_entries_written_by_the_previous_version_are_still_read():
    import zlib

    payload = "role/abc\nASIAOLD\nsecret\ntoken\n1900000000"
    entry = f"xcp1 1 {zlib.crc32(payload.encode()):08x} {payload}"
    assert decode("role/abc", [entry]).access_key_id == "ASIAOLD"


def test_foreign_entry_under_another_name_is_a_miss():
    assert decode("role/other", encode("role/abc", creds())) is None


def test_well_formed_entry_with_wrong_fields_is_a_miss():
    import zlib

    for payload in ("role/abc\nAK\nS\nT\nsoon", "role/abc\n\nS\nT\n1", "role/abc\nAK\nS\n1",
                    '{"n": "role/abc", "a": "AK", "s": "S", "t": null, "e": 1}'):
        header = f"xcp1 1 {zlib.crc32(payload.encode()):08x} "
        assert decode("role/abc", [header + payload]) is None


def test_put_overwrites_and_removes_leftover_chunks():
    store = MemoryStore()
    c = CredentialCache(store)
    c.put("role/abc", creds(5000))
    assert len(store.items) == 5
    smaller = creds(10)
    c.put("role/abc", smaller)
    assert set(store.items) == {"role/abc"}
    assert c.get("role/abc") == smaller
    assert c.delete("role/abc") and store.items == {}
    assert not c.delete("role/abc")


def test_delete_removes_orphan_chunks_after_a_corrupt_header():
    store = MemoryStore()
    store.items.update({"role/abc": "junk", "role/abc/1": "junk", "role/abc/2": "junk"})
    assert CredentialCache(store).delete("role/abc")
    assert store.items == {}


def test_keys_change_with_everything_that_changes_the_result(monkeypatch):
    base = dict(name="p", role_arn="arn:aws:iam::222222222222:role/R", source_profile="dev",
                region="eu-west-1", external_id="e1", mfa_serial="arn:aws:iam::1:mfa/a",
                duration_seconds=3600, role_session_name="alice")
    key = cache.role_key(Profile(**base))
    for field, value in [("role_arn", "arn:aws:iam::222222222222:role/S"),
                         ("source_profile", "other"), ("region", "us-east-1"),
                         ("external_id", "e2"), ("mfa_serial", None),
                         ("duration_seconds", 7200), ("role_session_name", "bob")]:
        assert cache.role_key(Profile(**{**base, field: value})) != key, field
    # The profile's own name does not matter: two names for one role share the entry.
    assert cache.role_key(Profile(**{**base, "name": "q"})) == key
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
    assert cache.role_key(Profile(**base)) != key
    session = cache.mfa_session_key(Profile(**base))
    assert cache.mfa_session_key(Profile(**{**base, "role_arn": "arn:aws:iam::2:role/X"})) == session
    assert cache.mfa_session_key(Profile(**{**base, "mfa_serial": "arn:aws:iam::1:mfa/b"})) != session


def test_fast_path_reads_exactly_what_keyring_wrote(keyring_env):
    keyring = keyring_env
    # keyring chains the Secret Service (first: it takes the writes) and the kernel keyring.
    assert type(keyring.get_keyring().backends[0]).__module__ == "keyring.backends.SecretService"
    value = "xcp1 1 0 " + "é" * 300 + "ünïcode ✓"
    keyring.set_password("xaccount-credproc", "role/one", value)
    keyring.set_password("xaccount-credproc", "role/two", "second")
    keyring.set_password("another-app", "role/one", "not ours")
    assert secret_service.read("xaccount-credproc", ["role/one", "role/two", "role/none"]) == [
        value, "second", None]
    keyring.set_password("xaccount-credproc", "role/one", "replaced")
    assert secret_service.read("xaccount-credproc", ["role/one"]) == ["replaced"]


def test_fast_path_steps_aside_when_keyring_is_configured_otherwise(keyring_env, monkeypatch,
                                                                    tmp_path):
    """keyring_backend = "auto" reads the Secret Service itself only where keyring would use it;
    configured otherwise (PYTHON_KEYRING_BACKEND, keyringrc.cfg), keyring's choice answers."""
    from xaccount_credproc.backends import (
        AutoStore,
        keyring_uses_secret_service,
        secret_service,
        store_named,
    )

    keyring_env.set_password("xaccount-credproc", "role/one", "v")
    asked = []
    fast_read = secret_service.fast_read
    monkeypatch.setattr(secret_service, "fast_read",
                        lambda *args: asked.append(args) or fast_read(*args))
    assert keyring_uses_secret_service()
    assert isinstance(store_named("auto"), AutoStore)
    assert store_named("auto").get_many(["role/one"]) == ["v"] and len(asked) == 1
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    keyring_env.core.init_backend()
    assert not keyring_uses_secret_service()
    assert store_named("auto").get_many(["role/one"]) == [None]  # keyring's null backend said
    assert len(asked) == 1
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    (tmp_path / "python_keyring").mkdir()
    (tmp_path / "python_keyring" / "keyringrc.cfg").write_text("[backend]\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    keyring_env.core.init_backend()
    assert not keyring_uses_secret_service()
    assert store_named("auto").get_many(["role/one"]) == ["v"]  # through keyring itself
    assert len(asked) == 1


def test_fast_path_gives_up_without_a_bus(keyring_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    assert secret_service.read("xaccount-credproc", ["role/one"]) is None


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


# -- the card: a hit served before anything else is imported (credentials/hit.py) ---------


def card_run(world, profile: str = "prod-read-only", env: dict | None = None):
    """(the credential_process document, whether the card served it): the full path imports
    the profile snapshot's module, the card's path never does."""
    result = world.run("credential-process", "--profile", profile,
                       env={"PYTHONPROFILEIMPORTTIME": "1", **(env or {})})
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert said == []
    modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
               if line.startswith("import time:")}
    by_card = "xaccount_credproc.config.snapshot" not in modules
    if by_card:
        assert "xaccount_credproc.credentials.hit" in modules
        for heavy in ("xaccount_credproc.config", "xaccount_credproc.credentials.resolver",
                      "argparse", "boto3", "keyring", "tomllib", "json"):
            assert heavy not in modules, heavy
    return json.loads(result.stdout), by_card


def the_card(world) -> Path:
    (card,) = (world.cache_dir / "profiles").glob("*.hit")
    return card


def carded(world, toml_edit=lambda text: text) -> dict:
    """A profile served once by STS and once more past the snapshot's racy window, so that its
    card is written: the first document."""
    world.standard()
    world.write_toml(toml_edit(world.toml.read_text()))
    counting_mfa(world)
    config_written = time.time()
    first = helper_json(world)
    time.sleep(max(0.0, config_written + 2.1 - time.time()))
    assert card_run(world) == (first, False)  # the full path: it leaves the card
    return first


def test_the_card_serves_a_hit_and_holds_no_secret(world):
    first = carded(world)
    card = the_card(world)
    assert card.stat().st_mode & 0o777 == 0o600
    data = card.read_bytes()
    for secret in (first["SecretAccessKey"], first["SessionToken"], first["AccessKeyId"]):
        assert secret.encode() not in data
    assert card_run(world) == (first, True)
    assert card_run(world) == (first, True)
    assert card.read_bytes() == data  # a hit writes nothing
    assert len(world.sts.calls_of("AssumeRole")) == 1
    # The AWS CLI runs the line `init` wrote (`python -S`): the same cached role, no new call.
    assert ":assumed-role/" in world.identity()
    assert len(world.sts.calls_of("AssumeRole")) == 1


@pytest.mark.parametrize("damage", ["flip a byte", "group-writable", "symlink", "truncated"])
def test_a_damaged_or_untrusted_card_is_not_used_and_the_full_path_replaces_it(world, damage):
    first = carded(world)
    card = the_card(world)
    good = card.read_bytes()
    if damage == "flip a byte":
        card.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    elif damage == "group-writable":
        card.chmod(0o620)
    elif damage == "symlink":
        elsewhere = world.root / "elsewhere.hit"
        elsewhere.write_bytes(good)
        elsewhere.chmod(0o600)
        card.unlink()
        card.symlink_to(elsewhere)
    else:
        card.write_bytes(good[:20])
    assert card_run(world) == (first, False)  # the full path, with the same cached entry
    assert not card.is_symlink() and card.stat().st_mode & 0o777 == 0o600
    assert card.read_bytes() == good
    assert card_run(world) == (first, True)
    assert len(world.sts.calls_of("AssumeRole")) == 1


def test_a_config_change_or_another_user_name_sends_a_hit_to_the_full_path(world):
    # The default role_session_name is the login name: another one is another cache key.
    first = carded(world, lambda text: text.replace('role_session_name = "alice"\n', ""))
    assert card_run(world) == (first, True)
    other, by_card = card_run(world, env={"USER": "someone-else", "LOGNAME": "someone-else"})
    assert not by_card and other["AccessKeyId"] != first["AccessKeyId"]
    (call,) = world.sts.calls_of("AssumeRole")[-1:]
    assert call.params["RoleSessionName"] == "someone-else"
    assert card_run(world) == (first, True)
    # Any change to the config file, even one that changes nothing, and the card is not used.
    world.toml.write_text(world.toml.read_text() + "\n")
    assert card_run(world) == (first, False)


def test_the_card_never_serves_credentials_inside_the_refresh_margin(world):
    world.standard()
    counting_mfa(world)
    world.sts.lifetime = 1200 + 6  # servable for 6 seconds past the default 1200 s margin
    config_written = time.time()
    first = helper_json(world)
    time.sleep(max(0.0, config_written + 2.1 - time.time()))
    assert card_run(world) == (first, False)
    assert card_run(world) == (first, True)
    import calendar

    expires = calendar.timegm(time.strptime(first["Expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    time.sleep(max(0.0, expires - 1200 + 0.2 - time.time()))  # just inside the margin
    third, by_card = card_run(world)
    assert not by_card and third["AccessKeyId"] != first["AccessKeyId"]
    assert len(world.sts.calls_of("AssumeRole")) == 2


def test_debug_and_a_loop_marker_always_take_the_full_path(world):
    first = carded(world)
    result = world.run("--debug", "credential-process", "--profile", "prod-read-only")
    assert result.returncode == 0 and "debug:" in result.stderr
    assert json.loads(result.stdout) == first
    result = world.run("credential-process", "--profile", "prod-read-only",
                       env={"XACCOUNT_CREDPROC_DEBUG": "1"})
    assert result.returncode == 0 and "debug:" in result.stderr
