"""The STS emulator refuses what AWS refuses (each rule names its source in
tests/harness/sts_emulator.py), and the helper never sends what it would refuse: a test cannot pass
on a kinder STS."""

import re

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.harness.setups import long_role_world
from tests.harness.world import (
    ADMIN_ROLE_ARN,
    ALICE_KEY,
    ALICE_SECRET,
    EXTERNAL_ID,
    HELPER,
    MFA_SERIAL,
    ROLE_ARN,
)


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
        assert world.identity(profile)
    assert [c.status for c in world.sts.calls] == [200] * len(world.sts.calls)
    assert HELPER.exists() and EXTERNAL_ID and ROLE_ARN
