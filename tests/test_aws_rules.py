"""AWS's real rules, through the real parts: a role session over an hour with MFA takes its own
code on an AssumeRole signed by the long-term keys (AWS refuses such a session behind the shared
MFA session), a code is never sent twice, and the emulator refuses what AWS refuses."""

import json
import re

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.harness.otp import appears
from tests.harness.sts_emulator import digest
from tests.harness.terminal import Terminal
from tests.harness.world import (
    ADMIN_ROLE_ARN,
    ALICE_KEY,
    ALICE_SECRET,
    AWS,
    EXTERNAL_ID,
    HELPER,
    MFA_SERIAL,
    ROLE_ARN,
)

LONG_ROLE = f"""
[profiles.staging-admin]
role_arn = "{ADMIN_ROLE_ARN}"
duration_seconds = 7200
"""


def long_role_world(world, mfa_process: bool = True, totp: bool = False):
    """Alice's world plus staging-admin, a two-hour role that needs MFA. `totp`: her device
    as AWS's virtual ones are (a code every 30 s), for the tests about codes in time."""
    world.standard()
    if totp:
        world.use_totp()
    world.sts.add_role(ADMIN_ROLE_ARN, mfa_required=True)
    if mfa_process:
        world.use_mfa_process(LONG_ROLE)
    else:
        world.write_toml(world.toml.read_text() + LONG_ROLE)
    world.write_aws_config("prod-read-only", "staging-admin")
    return world


def codes_sent(sts) -> list[str]:
    """The digests of every MFA code STS received, in order."""
    return [c.params["TokenCode"] for c in sts.calls if "TokenCode" in c.params]


def caller_identity(world, profile):
    result = world.aws("sts", "get-caller-identity", "--profile", profile)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["Arn"]


# -- a role session over an hour -------------------------------------------------------------


def test_a_two_hour_role_takes_its_own_code_signed_by_the_long_term_keys(world):
    long_role_world(world)
    assert caller_identity(world, "staging-admin").endswith(":assumed-role/Admin/alice")
    (call,) = world.sts.calls_of("AssumeRole")
    assert call.caller == ALICE_KEY  # the long-term keys, not an MFA session
    assert call.params["DurationSeconds"] == "7200"
    assert call.params["SerialNumber"] == MFA_SERIAL and "TokenCode" in call.params
    assert call.status == 200
    assert world.sts.calls_of("GetSessionToken") == []
    # Cached for its whole length: two hours, served again without STS or a code.
    served = json.loads(world.run("credential-process", "--profile", "staging-admin").stdout)
    expires = world.sts.keys[served["AccessKeyId"]].expires
    import time

    assert 7000 < expires - time.time() <= 7200
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert len(world.sts.accepted_codes(MFA_SERIAL)) == 1


def test_the_shared_session_and_a_long_role_one_after_the_other_never_send_a_code_twice(world):
    """What the demo does: an hour-long role through the MFA session, then a two-hour role with
    its own code, seconds apart, each from its own `aws` process. The OTP tool prints the same
    code for 30 s; the second process waits for the next one instead of sending it again."""
    long_role_world(world, totp=True)
    caller_identity(world, "prod-read-only")
    caller_identity(world, "staging-admin")
    caller_identity(world, "prod-read-only")  # a hit
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
    long_role_world(world, mfa_process=False, totp=True)
    term = Terminal([str(AWS), "sts", "get-caller-identity", "--profile", "prod-read-only"],
                    world.env)
    term.expect("MFA code for")
    first = world.code()
    term.type(first + "\n")
    assert term.finish().returncode == 0
    term = Terminal([str(AWS), "sts", "get-caller-identity", "--profile", "staging-admin"],
                    world.env)
    term.expect(r"The last code was just used: wait for the next one\. MFA code for")
    if world.sts.current_code(MFA_SERIAL) == first:
        term.type(first + "\n")  # the same code again: refused here, never sent
        term.expect(r"That code was just used \(AWS takes each code once\): wait for the next "
                    r"one\. MFA code for")
    term.type(world.code() + "\n")
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
    import time

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


# -- the emulator refuses what AWS refuses -----------------------------------------------------


def sts_client(world, key=ALICE_KEY, secret=ALICE_SECRET, token=None):
    """boto3, with its own checks of the parameters off: the server must refuse by itself."""
    from botocore.config import Config

    return boto3.client("sts", region_name="eu-west-1", endpoint_url=world.sts.url,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token, config=Config(parameter_validation=False))


def refused(call, code: str, message: str = ""):
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == code, error
    assert re.search(message, error["Message"]), error
    return error


def session_of(response):
    c = response["Credentials"]
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def test_emulator_limits_a_role_behind_a_get_session_token_session_to_one_hour(world):
    world.standard()
    world.sts.add_role(ADMIN_ROLE_ARN, mfa_required=True)
    world.sts.add_mfa_device(MFA_SERIAL, "314159", "271828")  # two codes without waiting 30 s
    alice = sts_client(world)
    session = alice.get_session_token(SerialNumber=MFA_SERIAL, TokenCode="314159")
    signed = sts_client(world, *session_of(session))
    refused(lambda: signed.assume_role(RoleArn=ADMIN_ROLE_ARN, RoleSessionName="alice",
                                       DurationSeconds=7200),
            "ValidationError", "1 hour session limit for roles assumed by role chaining")
    assert signed.assume_role(RoleArn=ADMIN_ROLE_ARN, RoleSessionName="alice",
                              DurationSeconds=3600)["Credentials"]
    # GetSessionToken with temporary credentials: refused.
    refused(lambda: signed.get_session_token(), "AccessDenied", "session credentials")
    # The long-term keys with the code on the call itself: two hours.
    assert alice.assume_role(RoleArn=ADMIN_ROLE_ARN, RoleSessionName="alice",
                             DurationSeconds=7200, SerialNumber=MFA_SERIAL,
                             TokenCode="271828")["Credentials"]


def test_emulator_takes_each_code_once_and_only_six_digits(world):
    world.standard()
    alice = sts_client(world)
    code = world.code()
    alice.get_session_token(SerialNumber=MFA_SERIAL, TokenCode=code)
    refused(lambda: alice.get_session_token(SerialNumber=MFA_SERIAL, TokenCode=code),
            "AccessDenied", "MultiFactorAuthentication failed")
    refused(lambda: alice.get_session_token(SerialNumber=MFA_SERIAL, TokenCode="12345"),
            "ValidationError", "tokenCode")
    refused(lambda: alice.get_session_token(SerialNumber=MFA_SERIAL, TokenCode="1234567"),
            "ValidationError", "tokenCode")


@pytest.mark.parametrize(("params", "where"), [
    ({"RoleSessionName": "a"}, "roleSessionName"),
    ({"RoleSessionName": "has space"}, "roleSessionName"),
    ({"ExternalId": "x"}, "externalId"),
    ({"DurationSeconds": 600}, "durationSeconds"),
    ({"DurationSeconds": 43201}, "durationSeconds"),
    ({"SourceIdentity": "a"}, "sourceIdentity"),
    ({"SourceIdentity": "aws:alice"}, "aws:"),
    ({"Tags": [{"Key": "k" * 129, "Value": "v"}]}, "tags"),
    ({"Tags": [{"Key": "team", "Value": "v" * 257}]}, "tags"),
    ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, "tags"),
    ({"Tags": [{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]}, "Duplicate tag"),
    ({"Tags": [{"Key": "team", "Value": "a"}], "TransitiveTagKeys": ["project"]},
     "transitive tag key project"),
])
def test_emulator_validates_parameters_as_aws_does(world, params, where):
    world.standard()
    world.sts.add_role(ADMIN_ROLE_ARN, set_source_identity=True, tag_session=True)
    alice = sts_client(world)
    call = {"RoleArn": ADMIN_ROLE_ARN, "RoleSessionName": "alice", **params}
    refused(lambda: alice.assume_role(**call), "ValidationError", re.escape(where))


def test_emulator_needs_the_trust_policy_for_source_identity_and_tags(world):
    world.standard()
    world.sts.add_role(ADMIN_ROLE_ARN)
    alice = sts_client(world)
    base = {"RoleArn": ADMIN_ROLE_ARN, "RoleSessionName": "alice"}
    refused(lambda: alice.assume_role(**base, SourceIdentity="alice"), "AccessDenied",
            "not authorized to perform: sts:SetSourceIdentity")
    refused(lambda: alice.assume_role(**base, Tags=[{"Key": "team", "Value": "a"}]),
            "AccessDenied", "not authorized to perform: sts:TagSession")


def test_emulator_keeps_the_source_identity_and_transitive_tags_along_a_chain(world):
    world.standard()
    hub, spoke = ADMIN_ROLE_ARN, "arn:aws:iam::444444444444:role/Spoke"
    world.sts.add_role(hub, set_source_identity=True, tag_session=True)
    world.sts.add_role(spoke, set_source_identity=True, tag_session=True)
    first = sts_client(world).assume_role(
        RoleArn=hub, RoleSessionName="alice", SourceIdentity="alice",
        Tags=[{"Key": "team", "Value": "blue"}], TransitiveTagKeys=["team"])
    assert first["SourceIdentity"] == "alice"
    chained = sts_client(world, *session_of(first))
    refused(lambda: chained.assume_role(RoleArn=spoke, RoleSessionName="alice",
                                        SourceIdentity="mallory"),
            "AccessDenied", "cannot be changed")
    refused(lambda: chained.assume_role(RoleArn=spoke, RoleSessionName="alice",
                                        Tags=[{"Key": "Team", "Value": "red"}]),
            "ValidationError", "transitive tag")
    second = chained.assume_role(RoleArn=spoke, RoleSessionName="alice", SourceIdentity="alice")
    assert second["SourceIdentity"] == "alice"
    key = world.sts.keys[second["Credentials"]["AccessKeyId"]]
    assert key.source_identity == "alice" and key.transitive_tags == {"team": "blue"}


def test_each_get_session_token_has_its_own_key(world):
    world.standard()
    alice = sts_client(world)
    first = alice.get_session_token()["Credentials"]["AccessKeyId"]
    second = alice.get_session_token()["Credentials"]["AccessKeyId"]
    assert first != second


def test_the_helper_itself_never_sends_what_the_emulator_refuses(world):
    """Through the helper and the real aws CLI: every profile of the standard world succeeds
    with no refused call at all (the emulator's strictness is met, not worked around)."""
    long_role_world(world)
    for profile in ("prod-read-only", "staging-admin"):
        assert caller_identity(world, profile)
    assert [c.status for c in world.sts.calls] == [200] * len(world.sts.calls)
    assert HELPER.exists() and EXTERNAL_ID and ROLE_ARN


# -- who did what: SourceIdentity and session tags ---------------------------------------------

HUB = "arn:aws:iam::444444444444:role/Hub"
SPOKE = "arn:aws:iam::555555555555:role/Spoke"
ATTRIBUTED = f"""
[profiles.hub]
role_arn = "{HUB}"
mfa_serial = ""
tags = {{ project = "apollo" }}
transitive_tags = ["team"]

[profiles.spoke]
source_profile = "hub"
role_arn = "{SPOKE}"
mfa_serial = ""
"""


def attributed_world(world, tag_session: bool = True):
    world.standard()
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", '[defaults]\nsource_identity = "{user}"\ntags = { team = "blue" }\n')
        + ATTRIBUTED)
    world.sts.add_role(HUB, set_source_identity=True, tag_session=tag_session)
    world.sts.add_role(SPOKE, trusts=(HUB,), set_source_identity=True, tag_session=tag_session)
    world.write_aws_config("hub", "spoke")
    return world


def tags_sent(call) -> dict:
    tags, index = {}, 1
    while f"Tags.member.{index}.Key" in call.params:
        tags[call.params[f"Tags.member.{index}.Key"]] = call.params[f"Tags.member.{index}.Value"]
        index += 1
    return tags


def test_source_identity_and_tags_reach_sts_and_stay_the_same_along_a_chain(world):
    attributed_world(world)
    assert caller_identity(world, "spoke").endswith(":assumed-role/Spoke/alice")
    hub, spoke = world.sts.calls_of("AssumeRole")
    assert hub.params["SourceIdentity"] == "alice"  # "{user}": the login name (LOGNAME)
    assert tags_sent(hub) == {"team": "blue", "project": "apollo"}
    assert hub.params["TransitiveTagKeys.member.1"] == "team"
    # The spoke sends the same source identity, and not the tag the chain carries already.
    assert spoke.params["SourceIdentity"] == "alice"
    assert tags_sent(spoke) == {}
    session = world.sts.keys[json.loads(world.run(
        "credential-process", "--profile", "spoke").stdout)["AccessKeyId"]]
    assert session.source_identity == "alice" and session.tags == {"team": "blue"}
    assert len(world.sts.calls_of("AssumeRole")) == 2  # a cache hit


def test_a_changed_tag_is_another_cache_entry(world):
    attributed_world(world)
    first = json.loads(world.run("credential-process", "--profile", "hub").stdout)
    world.write_toml(world.toml.read_text().replace('project = "apollo"', 'project = "gemini"'))
    second = json.loads(world.run("credential-process", "--profile", "hub").stdout)
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert tags_sent(world.sts.calls_of("AssumeRole")[-1])["project"] == "gemini"


def test_a_trust_policy_without_tag_session_is_named(world):
    attributed_world(world, tag_session=False)
    result = world.run("credential-process", "--profile", "hub")
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr == (
        f"xaccount-credproc: AWS denied AssumeRole on {HUB} for profile 'hub': the role's trust "
        "policy does not allow sts:TagSession, which tags and transitive_tags need; add "
        "sts:TagSession to the actions the trust policy allows your principal, or remove tags "
        "and transitive_tags from the profile\n")


def test_a_trust_policy_without_set_source_identity_is_named(world):
    attributed_world(world)
    world.sts.add_role(HUB, tag_session=True)
    result = world.run("credential-process", "--profile", "hub")
    assert result.returncode == 3
    assert ("the role's trust policy does not allow sts:SetSourceIdentity, which "
            "source_identity need") in result.stderr


def test_list_and_doctor_show_the_attribution(world):
    attributed_world(world)
    listing = world.run("list").stdout
    assert ("  hub: source identity 'alice'; tags project=apollo, team=blue (transitive: team); "
            "its trust policy must allow sts:SetSourceIdentity and sts:TagSession") in listing
    doctor = world.run("doctor").stdout
    assert "attribution of 'spoke': source identity 'alice'; tags team=blue" in doctor


@pytest.mark.parametrize(("toml", "message"), [
    ('source_identity = "aws:me"', r"source_identity 'aws:me' is not valid for STS"),
    ('source_identity = "x"', r"source_identity 'x' is not valid for STS"),
    ('tags = { "aws:team" = "x" }', r"tag name 'aws:team' is not valid for STS"),
    ('tags = { team = 3 }', r"tag 'team' must be a string, not a number"),
    ('tags = { Team = "a", team = "b" }', r"tag 'team' is there twice"),
    ("tags = { " + ", ".join(f"k{i} = 'v'" for i in range(51)) + " }",
     r"tags has 51 tags, more than STS's 50"),
    ('tags = "team=blue"', r"'tags' must be a table"),
    ('transitive_tags = ["nope"]', r"transitive_tags names 'nope', which is not one of its tags"),
])
def test_attribution_settings_are_checked_at_load(world, toml, message):
    world.standard()
    world.write_toml(world.toml.read_text() + toml + "\n")
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert world.sts.calls == []


def test_a_chain_that_would_change_its_source_identity_or_a_carried_tag_is_refused(world):
    attributed_world(world)
    base = world.toml.read_text()
    world.write_toml(base.replace('[profiles.spoke]\n', '[profiles.spoke]\nsource_identity = '
                                  '"mallory"\n'))
    result = world.run("credential-process", "--profile", "spoke")
    assert result.returncode == 2
    assert ("profile 'spoke': source_identity 'mallory' differs from 'alice' of 'hub' earlier in "
            "its chain, and AWS refuses to change a session's source identity") in result.stderr
    world.write_toml(base.replace('[profiles.spoke]\n', '[profiles.spoke]\ntags = { team = '
                                  '"red" }\n'))
    result = world.run("credential-process", "--profile", "spoke")
    assert result.returncode == 2
    assert "tag 'team' = 'red', but a hop earlier in its chain passes 'team' = 'blue'" in (
        result.stderr)
    assert world.sts.calls == []
