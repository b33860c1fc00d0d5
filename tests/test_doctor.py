"""`doctor`: a healthy setup, each problem named with its fix, a missing terminal for MFA, and every
broken profile listed while the rest is checked."""

import re

import pytest

from tests.harness.kernel_keys import refuse_keyctl
from tests.harness.setups import broken_world, ready
from tests.harness.world import ALICE_SECRET, FAST_START, MFA_CODE, ROLE_ARN


def doctor(world, **kwargs):
    result = world.run("doctor", **kwargs)
    lines = result.stdout.splitlines()
    return result, lines


def test_doctor_on_a_healthy_setup(world):
    ready(world)
    result, lines = doctor(world)
    assert result.returncode == 0, result.stdout
    assert lines[-1] == "all good"
    # alice's keys sit in ~/.aws/credentials: the one warning, with its fix.
    warnings = [line for line in lines[:-1] if not line.startswith("ok")]
    assert warnings == [f"warn  {world.aws_credentials}: source profile 'dev' keeps long-term "
                        "keys in plain text, readable by every process of yours and every "
                        "backup; move them into the OS keyring: xaccount-credproc source import "
                        "dev"], lines
    text = "\n".join(lines)
    assert "keyring keyring.backends.SecretService.Keyring: unlocked, an entry round-trips" in text
    assert "STS via source profile 'dev'" in text and "user/alice" in text
    assert world.keyring_items() == []  # the test entry was removed again


@pytest.mark.parametrize(("breakage", "message"), [
    ("no-init", "FAIL  AWS config: profile 'prod-read-only' has no managed stanza; run "
                "'xaccount-credproc init'"),
    ("role-arn", "FAIL  AWS config: profile 'prod-read-only' has role_arn, which botocore uses "
                 "instead of credential_process; remove it from the stanza"),
    ("credentials-file", "profile 'prod-read-only' has keys there, which botocore uses instead "
                         "of credential_process"),
    ("not-executable", "runs '/nonexistent/xaccount-credproc', which is not an executable file"),
    ("hand-written", "FAIL  AWS config: profile 'prod-read-only' is hand-written, not managed"),
    ("uninstalled", "gone/__main__.py', which does not exist"),
    ("keyring", "FAIL  keyring: no OS keyring is available"),
    ("sts", "FAIL  STS via source profile 'dev': AWS does not accept the credentials of source "
            "profile 'dev' (InvalidClientTokenId)"),
    ("toml", "FAIL  TOML config: "),
])
def test_doctor_names_each_problem_and_its_fix(world, tmp_path, breakage, message):
    ready(world)
    env, kwargs = {}, {}
    stanza_path = f"{FAST_START} credential-process"
    if breakage == "no-init":
        world.aws_config.write_text("")
    elif breakage == "role-arn":
        world.aws_config.write_text(world.aws_config.read_text() + f"role_arn = {ROLE_ARN}\n")
    elif breakage == "credentials-file":
        world.aws_credentials.write_text(world.aws_credentials.read_text()
                                         + "[prod-read-only]\naws_access_key_id = AKIAX\n"
                                         "aws_secret_access_key = y\n")
    elif breakage == "not-executable":
        world.aws_config.write_text(world.aws_config.read_text().replace(
            stanza_path, "/nonexistent/xaccount-credproc credential-process"))
    elif breakage == "uninstalled":
        world.aws_config.write_text(world.aws_config.read_text().replace(
            "xaccount_credproc/__main__.py", "gone/__main__.py"))
    elif breakage == "hand-written":
        world.aws_config.write_text(f"[profile prod-read-only]\ncredential_process = {stanza_path}"
                                    " --profile prod-read-only\n")
    elif breakage == "keyring":  # no Secret Service, and a kernel that refuses keyctl
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"
        kwargs["preexec_fn"] = refuse_keyctl()
    elif breakage == "sts":
        world.write_credentials("[dev]\naws_access_key_id = AKIAUNKNOWN000000000\n"
                                "aws_secret_access_key = x\n")
    elif breakage == "toml":
        world.write_toml(world.toml.read_text() + "nonsense = 1\n")
    result, lines = doctor(world, env=env, **kwargs)
    assert result.returncode == 1
    assert any(message in line for line in lines), lines
    assert re.fullmatch(r"\d+ problems? found", lines[-1])
    for secret in (ALICE_SECRET, MFA_CODE):
        assert secret not in result.stdout + result.stderr


def test_doctor_warns_when_mfa_needs_a_terminal_that_is_missing(world):
    ready(world)
    world.write_toml(world.toml.read_text().replace(world.mfa_process_line(), ""))
    result, lines = doctor(world)
    assert result.returncode == 0
    assert any(line.startswith("warn  MFA for 'prod-read-only': no prompt would work here "
                               "(mfa_prompt = \"auto\", no terminal, no desktop dialog)")
               for line in lines), lines


def test_doctor_lists_every_broken_profile_and_checks_the_rest(world):
    broken_world(world)
    result = world.run("doctor")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL  TOML")]
    assert len(failed) == 4, result.stdout
    assert any("loop-a" in line and "makes a cycle" in line for line in failed)
    assert "STS via source profile 'dev'" in result.stdout  # the valid ones were checked
    listing = world.run("list")
    assert listing.returncode == 0
    assert "prod-read-only" in listing.stdout and "typo" not in listing.stdout
    assert [line.split(":")[2] for line in listing.stderr.splitlines()] == [
        " profile 'loop-a' is not listed", " profile 'loop-b' is not listed",
        " profile 'too-deep' is not listed", " profile 'typo' is not listed"]
