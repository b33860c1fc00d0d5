"""The cache entry format and the cache over a store: unit tests with an in-memory store, plus the
Secret Service fast path against the real gnome-keyring (it must read exactly what keyring wrote)."""

import time

import pytest

from tests.harness.memory_store import MemoryStore
from xaccount_credproc.backends import secret_service
from xaccount_credproc.config import Profile
from xaccount_credproc.credentials import Credentials, cache
from xaccount_credproc.credentials.cache import CHUNK, CredentialCache, decode, encode


def creds(token_length=400) -> Credentials:
    return Credentials("ASIAEXAMPLE000000001", "s" * 40, "t" * token_length or None,
                       int(time.time()) + 3600)


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


# -- the fast path against the real Secret Service -------------------------------------------


@pytest.fixture
def keyring_env(secret_service, monkeypatch):
    for key, value in secret_service.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")  # no keyringrc.cfg
    import keyring.core

    keyring.core.init_backend()
    return keyring


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
