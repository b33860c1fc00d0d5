"""The Linux kernel keyring as the cache where no Secret Service answers (SSH, WSL2, servers, CI):
the real kernel (add_key/keyctl, the user keyring, its per-uid quota and timeouts), the real `aws`
CLI and the recording STS server, with no session bus at all.

Tests run beside others that write the same user keyring: a test looks at its own world's
entries (tests/harness/kernel_keys.of_world), or takes the keyring for itself where it counts
them all (conftest's kernel_keys_made_here, which also removes them again); the throwaway user's
keyring is cleared before the user is deleted."""

import errno
import json
import re
import shlex
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import kernel_keys, users
from tests.harness.kernel_keys import refuse_keyctl
from tests.harness.mfa import counting_mfa, parallel_cold_aws_calls, times_asked
from tests.harness.otp import appears
from tests.harness.world import FAST_START, MFA_SERIAL, World
from xaccount_credproc.backends import kernel_keys as kernel_store
from xaccount_credproc.backends import keyctl

KERNEL_BACKEND = "xaccount_credproc.backends.kernel_keyring.KernelKeyring"


@pytest.fixture(autouse=True)
def kernel_keyring_works():
    """The real kernel keyring must be there: in CI a missing one is a failure, not a skip."""
    why_not = kernel_store.available()
    if why_not is not None:
        pytest.fail(f"the kernel keyring is not usable here: {why_not}")


@pytest.fixture
def headless(tmp_path, sts):
    """A world with no session bus at all, as over SSH or in WSL2."""
    world = World(tmp_path, sts, secret_service=None)
    assert not any(k.startswith("DBUS") for k in world.env)
    return world


def helper(world, profile="prod-read-only", **kwargs):
    result = world.run("credential-process", "--profile", profile, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def entries_by_kind(made) -> dict[str, kernel_keys.Key]:
    return {key.description.split(":", 1)[1].split("/")[0]: key for key in made.ours()}


def minutes_left(timeout: str) -> float:
    number, unit = int(timeout[:-1]), timeout[-1]
    return number * {"s": 1 / 60, "m": 1, "h": 60, "d": 1440, "w": 10080}[unit]


def decoded(key: kernel_keys.Key) -> list[str]:
    """The cache entry's fields (key name, key ID, secret, token, expiry), read as root."""
    value, expires = keyctl.decode(kernel_keys.read_payload(key.id))
    return value.split(" ", 3)[3].split("\n")


# -- chosen by itself, one STS call and one MFA code for 32 parallel commands ------------------


def test_with_no_session_bus_32_parallel_aws_commands_make_one_assume_role_and_one_mfa(headless):
    world = headless.standard()
    made = kernel_keys.MadeHere(kernel_keys.of_world(world))  # this world's, beside others
    counter = counting_mfa(world)
    parallel_cold_aws_calls(world)
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert len(world.sts.calls_of("GetSessionToken")) == 1
    assert times_asked(counter) == 1
    assert len({c.caller for c in world.sts.calls_of("GetCallerIdentity")}) == 1

    # Later calls are cache hits, through the CLI and the helper alike.
    for _ in range(3):
        assert world.aws("sts", "get-caller-identity", "--profile", "prod-read-only").returncode == 0
    served, stderr = helper(world, "prod-read-only")
    assert stderr == ""
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert times_asked(counter) == 1

    # Three entries in the user keyring, readable by the uid only, each with a kernel timeout
    # at its expiry, so the kernel drops them by itself: the role, the MFA session, and the
    # record of the MFA code just used (90 s: AWS takes a code once).
    entries = entries_by_kind(made)
    assert sorted(entries) == ["mfa-code", "mfa-session", "role"]
    for key in entries.values():
        assert key.permissions == 0x3F3F0000, hex(key.permissions)  # nothing for group/others
        assert key.timeout not in ("perm", "expd")
    assert 50 <= minutes_left(entries["role"].timeout) <= 60
    assert 11 * 60 <= minutes_left(entries["mfa-session"].timeout) <= 12 * 60
    assert minutes_left(entries["mfa-code"].timeout) <= 1.5
    role = decoded(entries["role"])
    assert role[1] == served["AccessKeyId"] and role[2] == served["SecretAccessKey"]
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(role[4])))
    assert expiry == served["Expiration"]
    # Stored compactly: deflated, smaller than the entry's own text.
    payload = kernel_keys.read_payload(entries["role"].id)
    text, _ = keyctl.decode(payload)
    assert len(payload) < 0.9 * len(text.encode())

    # Nothing of the cache reached a file: not under HOME, the test's files or /tmp's top.
    session = decoded(entries["mfa-session"])
    secrets = [served["SecretAccessKey"], served["SessionToken"], session[2], session[3],
               *world.sts.issued_secrets()]
    scanned = 0
    for path in [*world.root.rglob("*"), *sorted(p for p in __import__("pathlib").Path(
            "/tmp").glob("*") if p.is_file())]:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            scanned += 1
            for secret in secrets:
                assert secret.encode() not in data, f"a cached secret is in {path}"
            for code in world.sts.accepted_codes(MFA_SERIAL):  # this world's own codes
                assert not appears(code, data), path
    assert scanned > 3


def test_a_kernel_keyring_hit_imports_neither_keyring_nor_ctypes_nor_a_socket(headless):
    world = headless.standard()
    counting_mfa(world)
    # The line `init` writes: the interpreter without `site` (see xaccount_credproc/__main__.py).
    fast = [*shlex.split(FAST_START), "credential-process", "--profile", "prod-read-only"]

    def imported() -> set[str]:
        result = world._run(fast, {"PYTHONPROFILEIMPORTTIME": "1"}, 60)
        assert result.returncode == 0, result.stderr
        return {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}

    helper(world)
    # A hit that parses the config (its snapshot not written yet): the standard library's own
    # probes for what this platform lacks (Jython's `org` from `copy`) must not load `site`.
    parsing = imported()
    assert "tomllib" in parsing and "site" not in parsing
    time.sleep(2.2)  # past the resolved-profile snapshot's racy window
    helper(world)  # writes the snapshot
    modules = imported()
    assert "xaccount_credproc.backends.keyctl" in modules
    for heavy in ("site", "runpy", "keyring", "ctypes", "socket", "jeepney", "boto3", "botocore", "struct",
                  "zlib", "xaccount_credproc.backends.kernel_keyring",
                  "xaccount_credproc.backends.kernel_keys", "xaccount_credproc.config.loader",
                  "xaccount_credproc.credentials.locking", "filelock", "subprocess", "contextlib",
                  "xaccount_credproc.backends.secret_service"):
        assert heavy not in modules, heavy
    assert len(world.sts.calls_of("AssumeRole")) == 1


def test_keyring_itself_picks_the_kernel_backend_without_a_secret_service(headless,
                                                                          secret_service):
    """Registered through keyring's entry point: keyring (and its command line) use it too."""
    code = "import keyring; print(type(keyring.get_keyring()).__name__)"
    chosen = subprocess.run([sys.executable, "-c", code], env=headless.env, text=True,
                            capture_output=True, check=True).stdout.strip()
    assert chosen == "KernelKeyring"
    with_bus = {**headless.env, **secret_service.env}
    chained = subprocess.run(
        [sys.executable, "-c", "import keyring; k = keyring.get_keyring(); "
         "print([type(b).__module__ for b in k.backends])"],
        env=with_bus, text=True, capture_output=True, check=True).stdout
    # The Secret Service comes first; the kernel keyring only takes what it cannot.
    assert chained.index("SecretService") < chained.index("kernel_keyring")

    # keyring's own command line, through the kernel backend: set, get, delete.
    cli = [sys.executable, "-m", "keyring"]
    service = "xaccount-credproc-test"
    try:
        subprocess.run([*cli, "set", service, "someone"], input="s3cret-value\n", text=True,
                       env=headless.env, check=True, capture_output=True, timeout=30)
        got = subprocess.run([*cli, "get", service, "someone"], env=headless.env, text=True,
                             capture_output=True, check=True, timeout=30).stdout
        assert got.strip() == "s3cret-value"
        key = next(k for k in kernel_keys.ours() if k.description == f"{service}:someone")
        assert key.timeout == "perm"  # what keyring stores is kept until deleted
    finally:
        subprocess.run([*cli, "del", service, "someone"], env=headless.env,
                       capture_output=True, timeout=30, check=False)
    assert not [k for k in kernel_keys.ours() if k.description.startswith(service)]


@pytest.mark.parametrize("how", ["config", "environment"])
def test_the_kernel_keyring_can_be_forced_despite_a_secret_service(world, how):
    world.standard()
    made = kernel_keys.MadeHere(kernel_keys.of_world(world))
    counting_mfa(world)
    env = {}
    if how == "config":
        world.write_toml(world.toml.read_text() + 'keyring_backend = "kernel"\n')
    else:
        env["PYTHON_KEYRING_BACKEND"] = KERNEL_BACKEND
    first, _ = helper(world, env=env)
    second, _ = helper(world, env=env)
    assert first == second
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert world.keyring_items() == []  # the Secret Service was not used
    # The role, the MFA session, and the record of the MFA code just used (credentials/mfa_codes.py).
    assert sorted(entries_by_kind(made)) == ["mfa-code", "mfa-session", "role"]


def test_the_secret_service_can_be_forced_where_keyring_would_pick_the_kernel(headless):
    world = headless.standard()
    made = kernel_keys.MadeHere(kernel_keys.of_world(world))
    counting_mfa(world)
    world.write_toml(world.toml.read_text() + 'keyring_backend = "secret-service"\n')
    served, stderr = helper(world)
    assert served["AccessKeyId"].startswith("ASIA")
    assert stderr.count("\n") == 1
    assert 'keyring_backend = "secret-service", but no Secret Service answers' in stderr
    assert made.ours() == []


def test_a_bad_keyring_backend_is_one_line_and_exit_2(headless):
    world = headless.standard()
    world.write_toml(world.toml.read_text() + 'keyring_backend = "kwallet"\n')
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "keyring_backend" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("refusal", [errno.EPERM, errno.ENOSYS])
def test_a_kernel_that_refuses_keyctl_is_one_warning_and_credentials(headless, refusal):
    world = headless.standard()
    made = kernel_keys.MadeHere(kernel_keys.of_world(world))
    counting_mfa(world)
    for setting in ("", 'keyring_backend = "kernel"\n'):
        world.write_toml(world.toml.read_text() + setting)
        served, stderr = helper(world, preexec_fn=refuse_keyctl(refusal))
        assert served["AccessKeyId"].startswith("ASIA")
        assert stderr.count("\n") == 1, stderr
        assert f"the kernel refuses keyctl ({errno.errorcode[refusal]}" in stderr
        assert "credentials are not cached" in stderr
    assert made.ours() == []


# -- list, clear, doctor ---------------------------------------------------------------------


def test_list_clear_and_doctor_work_with_the_kernel_keyring(headless, kernel_keys_made_here):
    world = headless.standard()
    counting_mfa(world)
    helper(world)
    listing = world.run("list")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.startswith("prod-read-only"))
    assert row.split()[2] == "yes"

    doctor = world.run("doctor")
    line = next(line for line in doctor.stdout.splitlines() if "kernel keyring quota" in line)
    now = kernel_store.usage()
    assert f"of {now.max_bytes} bytes" in line and f"of {now.max_keys} keys" in line
    assert f"({len(kernel_keys.ours())} entries of this tool," in line
    assert "ok    keyring kernel keyring (the user keyring, @u): unlocked, an entry round-trips" \
        in doctor.stdout
    # doctor's own test entry is gone again: the role, the MFA session, the last code's record.
    assert len(entries_by_kind(kernel_keys_made_here)) == 3

    cleared = world.run("clear", "--all")
    assert cleared.returncode == 0, cleared.stderr
    assert "removed 2 cached entries" in cleared.stdout
    # What clear leaves: the last MFA code's record (it expires within 90 s): clearing it would
    # let the next fetch send that code again, which AWS refuses.
    assert sorted(entries_by_kind(kernel_keys_made_here)) == ["mfa-code"]
    assert world.run("list").stdout.splitlines()[1].split()[2] == "no"


# -- the quota, for real, as an unprivileged user ----------------------------------------------

FILL = textwrap.dedent("""\
    # Fill the user's kernel key quota with keys of "another program" until `room` bytes are
    # left (or list what /proc/keys shows this user, or clear the user keyring).
    import ctypes, json, os, sys
    from xaccount_credproc.backends.keyctl import SYSCALLS, _machine
    ADD_KEY, KEYCTL = SYSCALLS[_machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    L = ctypes.c_long
    def usage():
        for line in open("/proc/key-users"):
            head, rest = line.split(":", 1)
            if int(head) == os.getuid():
                fields = rest.split()
                return [int(x) for x in fields[2].split("/") + fields[3].split("/")]
    command = sys.argv[1]
    libc.syscall(L(KEYCTL), L(0), L(-4), L(1))  # the user keyring exists from now on
    if command == "fill":
        room, index = int(sys.argv[2]), 0
        while True:
            keys, max_keys, used, max_bytes = usage()
            description = b"other-program:%d" % index
            size = min(4000, max_bytes - used - room - len(description) - 1)
            if size <= 0:
                break
            if libc.syscall(L(ADD_KEY), b"user", description, b"x" * size, L(size), L(-4)) < 0:
                sys.exit(f"add_key: {os.strerror(ctypes.get_errno())}")
            index += 1
        print(json.dumps(usage()))
    elif command == "list":
        print(json.dumps([line.split(None, 8) for line in open("/proc/keys").read().splitlines()
                          if line.split()[5] == str(os.getuid())]))
    elif command == "clear":
        ring = libc.syscall(L(KEYCTL), L(0), L(-4), L(1))
        sys.exit(0 if libc.syscall(L(KEYCTL), L(7), L(ring)) == 0 else 1)
""")


@pytest.fixture
def unprivileged(throwaway_user, public_tmp, sts):
    """A world whose HOME, Python and helper belong to a throwaway non-root user."""
    argv, env = users.python_for_others(public_tmp / "python")
    world = World(public_tmp / "world", sts, secret_service=None)
    world.env.update(env)
    script = public_tmp / "keys.py"
    script.write_text(FILL)
    subprocess.run(["chown", "-R", f"{throwaway_user.pw_uid}:{throwaway_user.pw_gid}",
                    str(public_tmp / "world")], check=True)

    def run(*args):
        return users.as_user(throwaway_user, [*argv, *args], env=world.env, timeout=120,
                             cwd=str(public_tmp))

    def keys(*args):
        result = users.as_user(throwaway_user, [argv[0], str(script), *args], env=world.env,
                               cwd=str(public_tmp))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else None

    world.run_as_user, world.keys_as_user = run, keys
    try:
        yield world
    finally:
        keys("clear")
        deadline = time.monotonic() + 5  # the kernel collects unlinked keys asynchronously
        while [k for k in keys("list") if k[7] == "user"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [k for k in keys("list") if k[7] == "user"] == []


def many_roles(world, count: int) -> list[str]:
    """`count` profiles, each its own role (no MFA), behind alice's keys."""
    world.standard(mfa_required=False)
    text = '[defaults]\nsource_profile = "dev"\nregion = "eu-west-1"\n' \
           'role_session_name = "alice"\n'
    names = []
    for index in range(count):
        arn = f"arn:aws:iam::2222222222{index:02d}:role/Reader"
        world.sts.add_role(arn)
        names.append(f"team-{index:02d}")
        text += f'\n[profiles.{names[-1]}]\nrole_arn = "{arn}"\n'
    world.write_toml(text)
    return names


def test_a_full_quota_never_evicts_a_live_entry_and_says_what_is_not_cached(unprivileged,
                                                                           throwaway_user):
    """Other programs' keys nearly fill the quota: the entries that fit stay (no thrashing, no
    STS call on their hits), and each profile that does not fit is served uncached with one
    warning naming the quota and how to raise it."""
    world = unprivileged
    world.sts.token_length = 1100  # about what AWS issues for AssumeRole
    names = many_roles(world, 8)
    subprocess.run(["chown", "-R", f"{throwaway_user.pw_uid}:{throwaway_user.pw_gid}",
                    str(world.root)], check=True)
    # Other programs hold most of the quota: room for about three of our entries.
    keys, max_keys, used, max_bytes = world.keys_as_user("fill", "3000")
    assert max_bytes - used >= 3000 - 100
    others = [k for k in world.keys_as_user("list") if k[8].startswith("other-program:")]

    def ours() -> list[str]:
        return sorted(k[0] for k in world.keys_as_user("list")
                      if k[8].startswith("xaccount-credproc:"))

    stored, uncached, served = [], [], {}
    for name in names:
        before = ours()
        result = world.run_as_user("credential-process", "--profile", name)
        assert result.returncode == 0, result.stderr
        served[name] = json.loads(result.stdout)
        if result.stderr == "":
            stored.append(name)
        else:
            assert result.stderr.count("\n") == 1, result.stderr
            assert "the kernel keyring quota of this user is full" in result.stderr
            assert "so credentials are not cached" in result.stderr
            assert "kernel.keys.maxbytes" in result.stderr
            # What fills it: our own entries (what clear would free), then the others'.
            assert re.search(rf": {len(stored)} entries of xaccount-credproc's own take \d+ "
                             r"bytes \('xaccount-credproc clear --all' would free them, at the "
                             r"cost of fetching again\), other programs' keys the rest \(\d+ "
                             r"bytes\)", result.stderr), result.stderr
            uncached.append(name)
        assert set(before) <= set(ours()), "a live entry was evicted"
    assert stored and uncached and stored == names[:len(stored)]
    assert [k for k in world.keys_as_user("list") if k[8].startswith("other-program:")] == others
    # Every entry that was stored still serves its hits without STS: no thrashing.
    calls = len(world.sts.calls_of("AssumeRole"))
    for name in stored:
        again = world.run_as_user("credential-process", "--profile", name)
        assert again.returncode == 0 and again.stderr == ""
        assert json.loads(again.stdout) == served[name]
    assert len(world.sts.calls_of("AssumeRole")) == calls
    # doctor reports the quota as the user sees it.
    doctor = world.run_as_user("doctor")
    line = next(line for line in doctor.stdout.splitlines() if "kernel keyring quota" in line)
    assert f"of {max_bytes} bytes" in line and "nearly full" in line

    # When even dropping all of ours leaves no room: one warning, credentials still served.
    assert world.run_as_user("clear", "--all").returncode == 0
    world.keys_as_user("fill", "300")
    result = world.run_as_user("credential-process", "--profile", names[0])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "the kernel keyring quota of this user is full" in result.stderr
    assert "all of it with keys of other programs" in result.stderr
    assert "kernel.keys.maxbytes" in result.stderr


def test_expired_entries_go_first_and_permanent_ones_never(tmp_path):
    """The eviction order, on the real kernel: expired, the one being replaced, then by expiry;
    entries without an expiry (secrets kept for good) are never candidates."""
    keys = kernel_store.KernelKeys("xaccount-credproc-test-order")
    now = int(time.time())
    try:
        keys.set("late", "v", now + 3000)
        keys.set("soon", "v", now + 1000)
        keys.set("replaced", "v", now + 2000)
        keys.set("kept", "v")  # no expiry
        keys.set("expired", "v", now + 1)
        time.sleep(2.1)
        assert keys.get("expired") is None
        order = [entry.name for entry in keys.eviction_order(replacing="replaced")]
        assert order == ["expired", "replaced"]  # live entries are never evicted for another
    finally:
        deleted = [keys.delete(name) for name in ("late", "soon", "replaced", "kept", "expired")]
    assert deleted == [True] * 5
    deadline = time.monotonic() + 5  # invalidated keys are collected after an RCU grace period
    while [k for k in kernel_keys.ours() if "test-order" in k.description]:
        assert time.monotonic() < deadline, kernel_keys.ours()
        time.sleep(0.05)


# -- the payload format ------------------------------------------------------------------------

BASE64ISH = st.from_regex(r"[A-Za-z0-9+/=_\-\n é]{0,3000}", fullmatch=True)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=2000) | BASE64ISH,
       expires=st.none() | st.integers(1, 253402300799))
def test_the_payload_round_trips_any_text(value, expires):
    assert keyctl.decode(kernel_store.encode(value, expires)) == (value, expires)


def test_base64_is_stored_at_six_bits_a_character():
    import base64
    import secrets as random_bytes

    token = base64.b64encode(random_bytes.token_bytes(900)).decode()  # 1200 characters
    url_safe = random_bytes.token_urlsafe(900)
    for text in (token, url_safe):
        assert len(kernel_store.encode(text, None)) <= len(text) * 3 // 4 + 16


@pytest.mark.parametrize("payload", [b"", b"xk2 5", b"xk1 5\nabc", b"xk2 x\n",
                                     b"xk2 5\n\x01\x00\x10abc", b"xk2 5\n\x09",
                                     b"xk2 5\n\x00\x00\x05\xff\xfe", b"xk2 5\n\x00\x00"])
def test_a_payload_this_tool_did_not_write_is_none(payload):
    assert keyctl.decode(payload) is None
