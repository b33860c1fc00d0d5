"""The MFA session and one use per code: one code for many roles behind one device, a role over
an hour taking its own code on an AssumeRole signed by the long-term keys (AWS limits a role
behind the shared session to one hour), a temporary source or a long role falling back to MFA on
AssumeRole, a revoked session replaced, and a code never sent twice (a person asked for the
next one, an OTP tool stuck on the used one stopped at the TOTP step's bound); list and doctor
say who shares the session."""

import json
import time

from tests.harness.mfa import counting_mfa, times_asked
from tests.harness.otp import appears
from tests.harness.setups import add_admin_profile, helper_json, long_role_world
from tests.harness.sts_emulator import digest
from tests.harness.terminal import Terminal
from tests.harness.world import ADMIN_ROLE_ARN, ALICE_KEY, AWS, MFA_SERIAL, ROLE_ARN


def codes_sent(sts) -> list[str]:
    """The digests of every MFA code STS received, in order."""
    return [c.params["TokenCode"] for c in sts.calls if "TokenCode" in c.params]


def test_a_two_hour_role_takes_its_own_code_signed_by_the_long_term_keys(world):
    long_role_world(world)
    assert world.identity("staging-admin").endswith(":assumed-role/Admin/alice")
    (call,) = world.sts.calls_of("AssumeRole")
    assert call.caller == ALICE_KEY  # the long-term keys, not an MFA session
    assert call.params["DurationSeconds"] == "7200"
    assert call.params["SerialNumber"] == MFA_SERIAL and "TokenCode" in call.params
    assert call.status == 200
    assert world.sts.calls_of("GetSessionToken") == []
    # Cached for its whole length: two hours, served again without STS or a code.
    served = json.loads(world.run("credential-process", "--profile", "staging-admin").stdout)
    expires = world.sts.keys[served["AccessKeyId"]].expires

    assert 7000 < expires - time.time() <= 7200
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert len(world.sts.accepted_codes(MFA_SERIAL)) == 1


def test_the_shared_session_and_a_long_role_one_after_the_other_never_send_a_code_twice(world):
    """What the demo does: an hour-long role through the MFA session, then a two-hour role with
    its own code, seconds apart, each from its own `aws` process. The OTP tool prints the same
    code for 30 s; the second process waits for the next one instead of sending it again."""
    long_role_world(world, totp=True)
    world.identity("prod-read-only")
    world.identity("staging-admin")
    world.identity("prod-read-only")  # a hit
    sent = codes_sent(world.sts)
    assert len(sent) == 2 and len(set(sent)) == 2
    assert all(c.status == 200 for c in world.sts.calls), [
        (c.action, c.status, c.error) for c in world.sts.calls]
    (session,) = world.sts.calls_of("GetSessionToken")
    shared, own = world.sts.calls_of("AssumeRole")
    assert shared.caller != ALICE_KEY and world.sts.keys[shared.caller].kind == "mfa-session"
    assert shared.params["DurationSeconds"] == "3600" and "TokenCode" not in shared.params
    assert own.caller == ALICE_KEY and own.params["DurationSeconds"] == "7200"
    # The code is never in a message, the record of the last one is in the keyring only.
    for code in world.sts.accepted_codes(MFA_SERIAL):
        for path in world.home.rglob("*"):
            if path.is_file():
                assert not appears(code, path.read_bytes()), path


def test_a_person_is_asked_for_the_next_code_and_a_repeated_one_is_refused_before_sts(world):
    """A person at the terminal, a TOTP device: the code just used is refused before STS, and
    the device's next code works. Time is moved on by one step at the emulator (the device and
    AWS alike) instead of waited for; the test that waits for real is the one before."""
    long_role_world(world, mfa_process=False, totp=True)
    term = Terminal([str(AWS), "sts", "get-caller-identity", "--profile", "prod-read-only"],
                    world.env)
    term.expect("MFA code for")
    first = world.sts.current_code(MFA_SERIAL)
    term.type(first + "\n")
    assert term.finish().returncode == 0
    term = Terminal([str(AWS), "sts", "get-caller-identity", "--profile", "staging-admin"],
                    world.env)
    term.expect(r"The last code was just used: wait for the next one\. MFA code for")
    term.type(first + "\n")  # the same code again: refused here, never sent
    term.expect(r"That code was just used \(AWS takes each code once\): wait for the next "
                r"one\. MFA code for")
    second = world.sts.next_step(MFA_SERIAL)
    while second == first:  # one step in a million shows the same six digits
        second = world.sts.next_step(MFA_SERIAL)
    term.type(second + "\n")
    result = term.finish()
    assert result.returncode == 0, result.stderr
    sent = codes_sent(world.sts)
    assert len(sent) == 2 and len(set(sent)) == 2 and sent[0] == digest(first)
    assert all(c.status == 200 for c in world.sts.calls)


def test_an_otp_tool_stuck_on_the_used_code_fails_within_30_seconds_saying_why(world):
    """A device whose only valid code was just used (an OTP tool that always prints it)."""
    long_role_world(world, mfa_process=False)
    code_file = world.root / "stuck-otp"
    code_file.write_text("271828\n")
    world.sts.add_mfa_device(MFA_SERIAL, "271828")
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "cat {code_file}"\n'))
    assert world.run("credential-process", "--profile", "prod-read-only").returncode == 0

    started = time.monotonic()
    result = world.run("credential-process", "--profile", "staging-admin", "--debug")
    took = time.monotonic() - started
    assert result.returncode == 4
    assert 25 < took < 40
    assert "waiting up to 30s for the device's next code" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "xaccount-credproc: mfa_process for profile 'staging-admin' printed the code that was "
        "just used for 30s, and AWS takes each code once; make it print the device's current "
        "code (a TOTP tool), or try again in a minute")
    assert len(codes_sent(world.sts)) == 1  # never sent twice
    assert "271828" not in result.stderr


def test_list_and_doctor_say_who_shares_the_mfa_session_and_who_takes_its_own_code(world):
    long_role_world(world)
    listing = world.run("list")
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line.split() for line in listing.stdout.splitlines()[1:3]}
    assert rows["prod-read-only"][4] == "session:none"
    assert rows["staging-admin"][4] == "own-code"
    assert ("  staging-admin: duration_seconds 7200 is over 3600: AWS limits a role assumed "
            "with an MFA session to 1 hour") in listing.stdout
    doctor = world.run("doctor").stdout
    assert (f"MFA session of {MFA_SERIAL} (source 'dev'): shared by 'prod-read-only': one code "
            "for all") in doctor
    assert ("MFA for 'staging-admin': its own code on each AssumeRole (duration_seconds 7200 is "
            "over 3600") in doctor


def test_two_roles_behind_one_mfa_device_need_one_code(world):
    world.standard()
    counter = counting_mfa(world)
    add_admin_profile(world)
    for profile in ("prod-read-only", "admin"):
        result = world.aws("sts", "get-caller-identity", "--profile", profile)
        assert result.returncode == 0, result.stderr
    assert times_asked(counter) == 1
    assert len(world.sts.calls_of("GetSessionToken")) == 1
    assert [c.params["RoleArn"] for c in world.sts.calls_of("AssumeRole")] == [ROLE_ARN, ADMIN_ROLE_ARN]
    session_key = world.sts.calls_of("AssumeRole")[0].caller
    assert world.sts.calls_of("AssumeRole")[1].caller == session_key
    assert world.sts.keys[session_key].kind == "mfa-session"


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
