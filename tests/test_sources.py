"""Long-term IAM user keys in the OS keyring (`source add|import|rotate|remove|list`), end to end:
an IAM user and its access key made through moto's IAM (which the STS emulator then accepts, for
as long as IAM has the key), the real Secret Service, the real `aws` CLI, and `rotate` killed
with SIGKILL at each of its steps; a source add that fails half-way, a closed stdin, a signal at
a key prompt, and a mute IAM named as IAM, each one line."""

import json
import os
import signal
import subprocess
import termios
import threading
import time

import pytest

from tests.harness import ports
from tests.harness.checks import failure_line
from tests.harness.iam_users import ADMIN, USER, iam, keys_in_iam
from tests.harness.mfa import times_asked
from tests.harness.terminal import Terminal
from tests.harness.world import ALICE_KEY, ALICE_SECRET, EXTERNAL_ID, HELPER


def files_holding(world, secret: str) -> list:
    return [p for p in world.home.rglob("*") if p.is_file() and not p.is_symlink()
            and secret.encode() in p.read_bytes()]


def imported(world, alice) -> None:
    result = world.run("source", "import", "dev", "--region", "eu-west-1")
    assert result.returncode == 0, result.stderr
    assert "into the OS keyring as source 'dev'" in result.stdout
    assert alice["secret"] not in result.stdout + result.stderr
    init = world.run("init")
    assert init.returncode == 0, init.stderr


# Where rotate is killed, seen from outside: a request held at the emulator (IAM answering
# slowly), not a hook in the product.
KILL_POINTS = {"after-create": ("CreateAccessKey", True),  # created in IAM, the answer lost
               "after-store": ("GetCallerIdentity", False),  # stored, not yet seen accepted
               "before-delete": ("DeleteAccessKey", False)}  # the old key not yet deleted


def term_finish_keeping_master(term):
    """finish(), after checking on the still-open terminal that echo is back on."""
    stdout, stderr = term.proc.communicate(timeout=30)
    assert termios.tcgetattr(term.master)[3] & termios.ECHO, "echo left off"
    os.close(term.master)
    return subprocess.CompletedProcess(term.proc.args, term.proc.returncode, stdout.decode(),
                                       stderr.decode())


def test_import_moves_the_keys_and_the_cli_works_for_a_role_and_for_the_user(world, alice):
    before = world.aws_credentials.read_bytes()
    doctor = world.run("doctor").stdout
    assert "source profile 'dev' keeps long-term keys in plain text" in doctor
    imported(world, alice)

    # Exactly the two key lines are gone; every other byte (CRLF, comments, [other]) stays.
    key_lines = [f"aws_access_key_id = {alice['key']}\r\n".encode(),
                 f"aws_secret_access_key = {alice['secret']}\r\n".encode()]
    assert world.aws_credentials.read_bytes() == before.replace(key_lines[0], b"").replace(
        key_lines[1], b"")
    assert files_holding(world, alice["secret"]) == []  # no file, no .bak, no temp file
    assert not [p for p in world.aws_dir.iterdir() if p.name.endswith(".tmp")]
    assert "[sources.dev]" in world.toml.read_text()
    assert "--source dev" in world.aws_config.read_text()

    assert world.identity("prod-read-only").endswith(":assumed-role/DevReadOnly-CrossAccount/alice")
    assert world.identity("dev") == alice["arn"]  # the IAM user itself, through the helper
    assert times_asked(alice["counter"]) == 1  # one MFA session for the role and the user
    (session_call,) = world.sts.calls_of("GetSessionToken")
    assert session_call.caller == alice["key"]  # the long-term key signed only STS
    served = json.loads(world.run("credential-process", "--source", "dev").stdout)
    assert served["AccessKeyId"].startswith("ASIA") and "SessionToken" in served
    assert "plain text" not in world.run("doctor").stdout
    assert files_holding(world, alice["secret"]) == []


def test_a_profile_aws_configure_wrote_is_taken_over_with_its_settings(world, alice):
    """The most common start: `aws configure` put region and output in [profile dev] of
    ~/.aws/config and the keys in ~/.aws/credentials. After import + init, the section is served
    by the helper with the user's settings kept, without --force, and init says so."""
    world.aws_credentials.write_text("")
    (world.aws_dir / "credentials.bak").unlink()
    for key, value in (("aws_access_key_id", alice["key"]),
                       ("aws_secret_access_key", alice["secret"]),
                       ("region", "eu-central-1"), ("output", "text"),
                       ("cli_pager", "")):
        configured = world.aws("configure", "set", key, value, "--profile", "dev")
        assert configured.returncode == 0, configured.stderr
    assert "[profile dev]" in world.aws_config.read_text()
    assert alice["key"] in world.aws_credentials.read_text()

    result = world.run("source", "import", "dev")
    assert result.returncode == 0, result.stderr
    init = world.run("init")
    assert init.returncode == 0, init.stderr
    assert init.stderr == ""
    assert "took over 1 (dev)" in init.stdout
    assert files_holding(world, alice["secret"]) == []

    text = world.aws_config.read_text()
    assert text.count("[profile dev]") == 1 and "--source dev" in text
    for key, want in (("region", "eu-central-1"), ("output", "text"), ("cli_pager", "")):
        got = world.aws("configure", "get", key, "--profile", "dev")
        assert got.stdout.strip() == want, (key, got.stdout, text)
    user = world.aws("sts", "get-caller-identity", "--profile", "dev")
    assert user.returncode == 0, user.stderr
    # output = text, the user's choice: tab-separated, not JSON.
    assert not user.stdout.lstrip().startswith("{") and alice["arn"] in user.stdout.split("\t")
    assert world.identity("prod-read-only").endswith(":assumed-role/DevReadOnly-CrossAccount/alice")
    # Up to date from now on: the region and output live in [sources.dev].
    again = world.run("init")
    assert again.returncode == 0 and "is up to date" in again.stdout, again.stdout


def test_a_hand_written_profile_with_its_own_credentials_is_left_alone_naming_them(world, alice):
    world.aws_config.write_text("[profile dev]\nregion = eu-west-1\n"
                                "credential_process = /opt/company/get-creds dev\n")
    result = world.run("source", "import", "dev", "--region", "eu-west-1")
    assert result.returncode == 0, result.stderr
    init = world.run("init")
    assert init.returncode == 1
    assert init.stderr.strip() == (
        f"xaccount-credproc: warning: hand-written profile 'dev' in {world.aws_config} has the "
        "name of a TOML profile and gets credentials its own way (credential_process), so it was "
        "left alone; remove that key from it, rename one of them, or replace it with "
        "'xaccount-credproc init --force'")
    assert "/opt/company/get-creds dev" in world.aws_config.read_text()


def test_add_reads_two_lines_from_stdin_and_checks_them_first(world, alice):
    world.aws_credentials.write_text("")
    (world.aws_dir / "credentials.bak").unlink()
    result = world.run("source", "add", "dev", "--region", "eu-west-1",
                       input=f"{alice['key']}\n{alice['secret']}\n", stdin=None)
    assert result.returncode == 0, result.stderr
    assert f"stored the key …{alice['key'][-4:]} of {alice['arn']} in the OS keyring as source 'dev'" in (
        result.stdout)
    assert world.run("init").returncode == 0
    assert "--source dev" not in world.aws_config.read_text()  # not asked for (--aws-profile)
    assert world.identity("prod-read-only").endswith("/alice")
    assert world.sts.calls_of("GetSessionToken")[0].caller == alice["key"]


def test_add_asks_on_the_terminal_without_echoing_the_secret(world, alice):
    terminal = Terminal([str(HELPER), "source", "add", "dev", "--region", "eu-west-1"],
                        world.env)
    terminal.expect("Access key ID: ")
    terminal.type(alice["key"] + "\n")
    terminal.expect(r"Secret access key \(not shown\): ")
    terminal.type(alice["secret"] + "\n")
    result = terminal.finish()
    assert result.returncode == 0, result.stderr
    assert alice["key"].encode() in terminal.screen  # the key ID is echoed, as typed
    assert alice["secret"].encode() not in terminal.screen  # the secret is not
    assert "as source 'dev'" in result.stdout


def test_static_keys_in_the_aws_config_are_imported_too(world, alice):
    world.aws_credentials.write_text("")
    (world.aws_dir / "credentials.bak").unlink()
    config = (f"[profile dev]\nregion = eu-west-1\naws_access_key_id = {alice['key']}\n"
              f"aws_secret_access_key = {alice['secret']}\noutput = json\n")
    world.aws_config.write_text(config)
    (world.aws_dir / "config.bak").write_text(config)  # what an earlier init would have kept
    result = world.run("source", "import", "dev")
    assert result.returncode == 0, result.stderr
    assert world.aws_config.read_text() == "[profile dev]\nregion = eu-west-1\noutput = json\n"
    assert files_holding(world, alice["secret"]) == []


def test_everything_a_file_source_does_works_with_a_stored_one(world, alice):
    imported(world, alice)
    # MFA on AssumeRole itself (mfa_session = false), and exec.
    world.write_toml(world.toml.read_text().replace(
        f'external_id = "{EXTERNAL_ID}"\n', f'external_id = "{EXTERNAL_ID}"\nmfa_session = false\n'))
    result = world.run("exec", "--profile", "prod-read-only", "--", "sh", "-c",
                       'test -n "$AWS_SESSION_TOKEN" && echo ok')
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    (assume,) = world.sts.calls_of("AssumeRole")
    assert assume.caller == alice["key"] and "TokenCode" in assume.params
    assert assume.params["ExternalId"] == EXTERNAL_ID
    doctor = world.run("doctor")
    assert "STS via source profile 'dev' (" in doctor.stdout and alice["arn"] in doctor.stdout
    assert "FAIL" not in doctor.stdout
    listing = world.run("list").stdout
    assert "dev → prod-read-only" in listing


def test_wrong_keys_are_refused_and_nothing_is_stored(world, alice):
    toml = world.toml.read_text()
    wrong = "AKIAWRONG0000000TEST\n" + "w" * 40 + "\n"
    result = world.run("source", "add", "dev", input=wrong, stdin=None)
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "InvalidClientTokenId" in result.stderr
    assert world.toml.read_text() == toml
    assert [i for i in world.keyring_items() if i["username"].startswith("source/")] == []
    temporary = world.run("source", "add", "dev", input="ASIATEMP0000000000TEST\n" + "s" * 40
                          + "\n", stdin=None)
    assert temporary.returncode == 1 and "temporary credentials" in temporary.stderr


def test_a_secret_on_the_command_line_is_refused_and_not_echoed(world, alice):
    result = world.run("source", "add", "dev", alice["key"], alice["secret"])
    assert result.returncode == 2
    assert alice["secret"] not in result.stderr and alice["key"] not in result.stderr
    assert "[sources" not in world.toml.read_text()


def test_importing_a_profile_without_keys_changes_nothing(world, alice):
    before = world.aws_credentials.read_bytes()
    result = world.run("source", "import", "nokeys")
    assert result.returncode == 1
    assert "profile 'nokeys' has no access key pair" in result.stderr
    assert world.aws_credentials.read_bytes() == before


def test_importing_from_a_credentials_file_with_a_section_twice_names_it(world, alice):
    """botocore cannot read such a file at all: a config error (exit 2) naming the section and
    its lines, as init and doctor say it, and the file unchanged."""
    world.aws_credentials.write_text(f"[dup]\naws_access_key_id = {alice['key']}\n"
                                     f"aws_secret_access_key = {alice['secret']}\n\n"
                                     "[dup]\nregion = eu-west-1\n")
    before = world.aws_credentials.read_bytes()
    result = world.run("source", "import", "dup")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"xaccount-credproc: {world.aws_credentials} has the same section twice ([dup] at lines "
        "1, 5), so the AWS CLI cannot read it at all; merge each into one section, then run "
        "'xaccount-credproc source import dup' again\n")
    assert world.aws_credentials.read_bytes() == before
    assert [c for c in world.sts.calls if c.service == "sts"] == []


def test_list_and_remove_show_nothing_secret(world, alice):
    imported(world, alice)
    listing = world.run("source", "list")
    assert listing.returncode == 0, listing.stderr
    row = listing.stdout.splitlines()[1].split()
    assert row == ["dev", f"…{alice['key'][-4:]}", alice["arn"], "0d", "yes"]
    for secret in (alice["key"], alice["secret"]):
        assert secret not in listing.stdout
    refused = world.run("source", "remove", "dev")
    assert refused.returncode == 2 and "used by prod-read-only" in refused.stderr
    world.write_toml(world.toml.read_text().replace('source_profile = "dev"',
                                                    'source_profile = "other"'))
    removed = world.run("source", "remove", "dev")
    assert removed.returncode == 0, removed.stderr
    assert [i for i in world.keyring_items() if i["username"].startswith("source/")] == []


def test_rotate_end_to_end(world, alice):
    imported(world, alice)
    world.identity("prod-read-only")  # sessions made with the old key, cached
    before = len(world.sts.calls)  # (import asked IAM for the key's age, with the key itself)
    result = world.run("source", "rotate", "dev")
    assert result.returncode == 0, result.stderr
    (new_key,) = keys_in_iam(world)
    assert new_key != alice["key"]  # the old key is deleted in IAM
    assert f"the new key …{new_key[-4:]} is stored and accepted" in result.stdout
    # IAM was called with the MFA session (policies often demand it), never the old key alone.
    iam_calls = [c for c in world.sts.calls[before:] if c.service == "iam" and c.caller != ADMIN]
    assert {c.action for c in iam_calls} == {"ListAccessKeys", "CreateAccessKey",
                                             "DeleteAccessKey"}
    assert all(world.sts.keys[c.caller].kind == "mfa-session" for c in iam_calls)
    # The sessions made with the old key are not served: the next call signs STS with the new.
    calls = len(world.sts.calls_of("GetSessionToken"))
    world.identity("prod-read-only")
    assert len(world.sts.calls_of("GetSessionToken")) == calls + 1
    assert world.sts.calls_of("GetSessionToken")[-1].caller == new_key
    assert files_holding(world, alice["secret"]) == []


def test_rotate_refuses_a_user_with_two_keys_before_changing_anything(world, alice):
    imported(world, alice)
    extra = iam(world).create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    result = world.run("source", "rotate", "dev")
    assert result.returncode == 1
    assert f"already has 2 access keys (stored: …{alice['key'][-4:]}; not stored here: " \
           f"…{extra[-4:]})" in result.stderr
    assert sorted(keys_in_iam(world)) == sorted([alice["key"], extra])


@pytest.mark.parametrize("step", sorted(KILL_POINTS))
def test_rotate_killed_at_any_step_leaves_a_working_key(world, alice, step):
    imported(world, alice)
    action, after = KILL_POINTS[step]
    hold = world.sts.hold(action, after=after)
    rotate = subprocess.Popen([str(HELPER), "source", "rotate", "dev"], env=world.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert hold.arrived.wait(60), f"rotate never sent {action}"
    os.killpg(rotate.pid, signal.SIGKILL)
    rotate.wait(timeout=30)
    rotate.stdout.close()
    rotate.stderr.close()
    hold.release()
    del world.sts.holds[action]

    # Whatever the step, the stored key works: no cached session helps it here.
    assert world.run("clear", "--all").returncode == 0
    assert world.identity("dev") == alice["arn"]
    assert world.sts.calls_of("GetSessionToken")[-1].caller in keys_in_iam(world)

    again = world.run("source", "rotate", "dev")
    if step == "after-create":  # the new key's secret died with the process: say so, change nothing
        assert again.returncode == 1 and "already has 2 access keys" in again.stderr
        assert len(keys_in_iam(world)) == 2
    else:  # the new key was stored: the next rotate finishes the job
        assert again.returncode == 0, again.stderr
        (left,) = keys_in_iam(world)
        assert left != alice["key"]
        assert world.run("clear", "--all").returncode == 0
        assert world.identity("dev") == alice["arn"]
        assert world.sts.calls_of("GetSessionToken")[-1].caller == left
    assert files_holding(world, alice["secret"]) == []


def test_a_rotation_with_nothing_held_finishes_promptly(world, alice):
    imported(world, alice)
    started = time.monotonic()
    assert world.run("source", "rotate", "dev").returncode == 0
    assert time.monotonic() - started < 30


def test_duplicate_sections_are_refused_with_both_line_numbers(world):
    world.standard(mfa_required=False)
    text = ("[profile prod-read-only]\nregion = eu-west-1\n\n"
            "[profile other]\nregion = eu-west-1\n\n"
            "[profile prod-read-only]\noutput = json\n")
    world.aws_config.write_text(text)
    result = world.run("init")
    assert result.returncode == 2 and result.stdout == ""
    assert failure_line(result) == (
        f"xaccount-credproc: {world.aws_config} has the same section twice ([profile "
        "prod-read-only] at lines 1, 7), so the AWS CLI cannot read it at all; merge each into "
        "one section, then run 'xaccount-credproc init' again")
    assert world.aws_config.read_text() == text  # nothing written, nothing dropped
    doctor = world.run("doctor")
    assert doctor.returncode == 1
    assert (f"FAIL  AWS config: {world.aws_config} has the same section twice ([profile "
            "prod-read-only] at lines 1, 7)") in doctor.stdout


def test_a_source_add_the_keyring_refuses_leaves_no_declaration(world):
    world.standard(mfa_required=False)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", '[defaults]\nkeyring_backend = "secret-service"\n'))
    before = world.toml.read_text()
    result = world.run("source", "add", "ops", input=f"{ALICE_KEY}\n{ALICE_SECRET}\n",
                       stdin=None, env={"DBUS_SESSION_BUS_ADDRESS": ""})
    assert result.returncode == 1 and result.stdout == ""
    line = failure_line(result)
    assert line.startswith("xaccount-credproc: cannot store the keys: "), line
    assert world.toml.read_text() == before  # no [sources.ops] left behind
    assert ALICE_SECRET not in result.stderr


def test_a_source_add_under_a_profile_name_stores_nothing(world):
    world.standard(mfa_required=False)
    result = world.run("source", "add", "prod-read-only",
                       input=f"{ALICE_KEY}\n{ALICE_SECRET}\n", stdin=None)
    assert result.returncode == 2
    assert failure_line(result) == (
        f"xaccount-credproc: 'prod-read-only' is a profile in {world.toml}, so it cannot also "
        "name a stored source; choose another name for the source")
    assert [i for i in world.keyring_items() if i["username"].startswith("source/")] == []


def test_source_add_with_stdin_closed_is_one_line(world):
    world.standard(mfa_required=False)
    result = world.run("source", "add", "ops", stdin=subprocess.DEVNULL,
                       preexec_fn=lambda: os.close(0))
    assert result.returncode == 1
    assert failure_line(result) == (
        "xaccount-credproc: stdin is closed, so there are no keys to read; pipe two lines to "
        "stdin (the access key ID, then the secret), or run it in a terminal")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_at_the_key_prompt_is_reported_truthfully(world, signum):
    world.standard(mfa_required=False)
    term = Terminal([str(HELPER), "source", "add", "ops"], world.env)
    term.expect("Secret access key|Access key ID: ")
    term.type(ALICE_KEY + "\n")
    term.expect(r"Secret access key \(not shown\): ")
    term.proc.send_signal(signum)
    result = term_finish_keeping_master(term)
    assert result.returncode == 128 + signum
    assert failure_line(result) == (f"xaccount-credproc: secret access key entry interrupted by "
                                f"{signal.Signals(signum).name}")
    assert "[sources.ops]" not in world.toml.read_text()


def test_a_mute_iam_endpoint_names_iam_and_its_variable(monkeypatch):
    """The real botocore against a socket that accepts and never answers."""
    from xaccount_credproc.credentials.source_session import READ_TIMEOUT, SourceSession
    from xaccount_credproc.credentials.stored.keys import StoredKeys
    from xaccount_credproc.errors import AwsError
    from xaccount_credproc.reentry import REENTRY_ENV

    listener = ports.fresh_socket()
    listener.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(listener.accept()) for _ in range(8)],
                     daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # SourceSession marks this process as resolving a source (REENTRY_ENV): undone after the test,
    # or every later test's helper run from this process would see a loop.
    monkeypatch.setenv(REENTRY_ENV, "")
    source = SourceSession("ops", "eu-west-1", "ops",
                       keys=StoredKeys(ALICE_KEY, ALICE_SECRET, "arn:aws:iam::1:user/a"))
    started = time.monotonic()
    with pytest.raises(AwsError) as failed:
        source.call_api("ListAccessKeys", lambda: source.iam().list_access_keys(UserName="a"))
    assert time.monotonic() - started < 4 * READ_TIMEOUT
    assert str(failed.value) == (
        f"{url}/ accepted the connection but did not answer ListAccessKeys within {READ_TIMEOUT}s, "
        "each of the 2 times it was sent; IAM or a proxy in between is stuck: try again later, "
        "or check the network, proxy settings and AWS_ENDPOINT_URL_IAM")
    listener.close()
