"""credential-process end to end: the real `aws` CLI and boto3 call the installed helper, which calls
the recording STS server on 127.0.0.1 that enforces the role's trust conditions."""

import json
import os
import re
import time

import pytest

from tests.harness.checks import failure_line
from tests.harness.sts_emulator import digest
from tests.harness.world import (
    ALICE_KEY,
    ALICE_SECRET,
    ASSUMED,
    AWS,
    EXTERNAL_ID,
    HELPER,
    MFA_CODE,
    MFA_SERIAL,
    ROLE_ARN,
)


def with_mfa_process(world, extra: str = "") -> None:
    world.use_mfa_process(extra)


def test_aws_cli_gets_the_assumed_role_identity_with_mfa_on_assume_role(world):
    world.standard()
    with_mfa_process(world, "mfa_session = false\n")
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED
    assert result.stderr == ""

    (call,) = world.sts.calls_of("AssumeRole")
    assert call.caller == ALICE_KEY  # signed by the named source profile
    assert call.params == {
        "RoleArn": ROLE_ARN, "RoleSessionName": "alice", "DurationSeconds": "3600",
        "ExternalId": EXTERNAL_ID, "SerialNumber": MFA_SERIAL,
        "TokenCode": digest(world.sts.accepted_codes(MFA_SERIAL)[0])}
    assert call.region == "eu-west-1"  # the profile's region: a regional STS endpoint
    assert world.sts.calls_of("GetSessionToken") == []


def test_aws_cli_gets_the_assumed_role_identity_through_an_mfa_session(world):
    world.standard()
    with_mfa_process(world)
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED
    (session,) = world.sts.calls_of("GetSessionToken")
    assert session.caller == ALICE_KEY
    (code,) = world.sts.accepted_codes(MFA_SERIAL)
    assert session.params == {"SerialNumber": MFA_SERIAL, "TokenCode": digest(code),
                              "DurationSeconds": "43200"}
    (call,) = world.sts.calls_of("AssumeRole")
    assert call.caller.startswith("ASIA")  # signed by the MFA session, not alice's own key
    assert world.sts.keys[call.caller].kind == "mfa-session"
    assert call.params == {"RoleArn": ROLE_ARN, "RoleSessionName": "alice",
                           "DurationSeconds": "3600", "ExternalId": EXTERNAL_ID}


def test_boto3_session_gets_the_assumed_role_identity(world, monkeypatch):
    import boto3

    world.standard()
    with_mfa_process(world)
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "XACCOUNT_CREDPROC_ACTIVE"):
        monkeypatch.delenv(key, raising=False)
    session = boto3.Session(profile_name="prod-read-only")
    identity = session.client("sts").get_caller_identity()
    assert identity["Arn"] == ASSUMED
    assert session.get_credentials().method == "custom-process"


def test_output_is_exactly_the_credential_process_document(world):
    world.standard()
    with_mfa_process(world, '\n[profiles.long]\nrole_arn = "arn:aws:iam::222222222222:role/'
                            'DevReadOnly-CrossAccount"\nexternal_id = "DeveloperAccess"\n'
                            "duration_seconds = 7200\n")
    before = time.time()
    result = world.run("credential-process", "--profile", "long")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("}\n") and result.stdout.count("\n") == 1
    doc = json.loads(result.stdout)
    assert set(doc) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration",
                        "AccountId"}
    assert doc["Version"] == 1 and isinstance(doc["Version"], int)
    assert doc["AccountId"] == "222222222222"  # the role's account, for account-based endpoints
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["Expiration"])
    expires = time.mktime(time.strptime(doc["Expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 7200 - 60 <= expires - before <= 7200 + 60
    assert world.sts.calls_of("AssumeRole")[0].params["DurationSeconds"] == "7200"


def test_generic_endpoint_variable_is_honoured(world):
    world.standard()
    with_mfa_process(world)
    env = {"AWS_ENDPOINT_URL_STS": "", "AWS_ENDPOINT_URL": world.sts.url}
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED


def test_ambient_aws_profile_and_env_keys_do_not_change_the_source(world):
    """An exported AWS_PROFILE naming the helper's own profile must not make it call itself."""
    world.standard()
    with_mfa_process(world)
    env = {"AWS_PROFILE": "prod-read-only", "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG0",
           "AWS_SECRET_ACCESS_KEY": "wrong"}
    result = world.run("credential-process", "--profile", "prod-read-only", env=env)
    assert result.returncode == 0, result.stderr
    assert world.sts.calls[0].caller == ALICE_KEY  # the MFA session was got with alice's key


def test_role_without_mfa_and_external_id(world):
    world.standard()
    world.sts.add_role("arn:aws:iam::333333333333:role/Plain")
    world.write_toml('[profiles.plain]\nsource_profile = "dev"\nregion = "eu-west-1"\n'
                     'account_id = "333333333333"\nrole_name = "Plain"\nrole_session_name = "ci"\n')
    world.write_aws_config("plain")
    result = world.aws("sts", "get-caller-identity", "--profile", "plain")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == "arn:aws:sts::333333333333:assumed-role/Plain/ci"
    assert set(world.sts.calls_of("AssumeRole")[0].params) == {
        "RoleArn", "RoleSessionName", "DurationSeconds"}


def test_unknown_profile_lists_the_known_ones(world):
    world.standard()
    world.write_aws_config("prod-read-only", "prod-typo")
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-typo")
    failure_line(result, pattern=r"custom-process: xaccount-credproc: profile 'prod-typo' is not "
                                 r"in .*config.toml \(known profiles: prod-read-only\); add it")


def test_bad_config_names_file_line_and_key(world):
    world.standard()
    world.write_toml(world.toml.read_text() + "exernal_id = 'x'\n")
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 2
    failure_line(result, pattern=r"config.toml:10: unknown key 'exernal_id'; known keys:")


def test_wrong_external_id_is_denied_with_a_hint(world):
    world.standard()
    with_mfa_process(world)
    world.write_toml(world.toml.read_text().replace(EXTERNAL_ID, "WrongId"))
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    failure_line(result, pattern=r"AWS denied AssumeRole on arn:aws:iam::222222222222:role/"
                                 r"DevReadOnly-CrossAccount for profile 'prod-read-only' "
                                 r"\(AccessDenied\); check .*external_id matches the trust policy")
    assert world.sts.calls_of("AssumeRole")[0].status == 403


def test_missing_mfa_is_denied_with_a_hint(world):
    world.standard()
    world.write_toml(world.toml.read_text() + 'mfa_serial = ""\n')
    result = world.run("credential-process", "--profile", "prod-read-only")
    failure_line(result, pattern=r"AWS denied AssumeRole .*whether the role requires MFA "
                                 r"\(set mfa_serial\)")
    assert "SerialNumber" not in world.sts.calls_of("AssumeRole")[0].params


def test_source_profile_without_credentials(world):
    world.standard()
    with_mfa_process(world)
    world.write_credentials("")
    world.write_aws_config("prod-read-only", extra="[profile dev]\nregion = eu-west-1\n\n")
    result = world.run("credential-process", "--profile", "prod-read-only")
    failure_line(result, pattern=r"source profile 'dev' has no usable credentials; add keys "
                                 r"\(aws configure --profile dev\)")


def test_source_profile_missing_entirely(world):
    world.standard()
    with_mfa_process(world)
    world.write_credentials("")
    result = world.run("credential-process", "--profile", "prod-read-only")
    failure_line(result, pattern=r"source profile 'dev' \(for profile 'prod-read-only'\) is not "
                                 r"in the AWS config or credentials file")


def test_expired_source_token(world):
    world.standard()
    with_mfa_process(world)
    world.sts.expire_key(ALICE_KEY)
    result = world.run("credential-process", "--profile", "prod-read-only")
    failure_line(result, pattern=r"the credentials of source profile 'dev' have expired "
                                 r"\(ExpiredToken\); renew them")


def test_invalid_source_keys(world):
    world.standard()
    with_mfa_process(world)
    world.write_credentials("[dev]\naws_access_key_id = AKIAUNKNOWN000000000\n"
                            "aws_secret_access_key = x\n")
    result = world.run("credential-process", "--profile", "prod-read-only")
    failure_line(result, pattern=r"AWS does not accept the credentials of source profile 'dev' "
                                 r"\(InvalidClientTokenId\)")


def test_network_error_names_the_regional_endpoint(world):
    """No endpoint override: the regional endpoint is used; a dead local proxy stands for the
    network being down, so nothing leaves the machine."""
    world.standard()
    with_mfa_process(world)
    env = {"AWS_ENDPOINT_URL_STS": "", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    result = world.run("credential-process", "--profile", "prod-read-only", env=env)
    failure_line(result, pattern=r"cannot reach https://sts\.eu-west-1\.amazonaws\.com through proxy "
                                 r"http://127\.0\.0\.1:9 \(\w+\) \(tried once: a call that carries "
                                 r"an MFA code is never sent twice\); check the network")


def test_role_chaining_duration_is_explained(world):
    world.standard()
    with_mfa_process(world)
    world.sts.add_role("arn:aws:iam::333333333333:role/Next")
    world.write_toml(world.toml.read_text() + '\n[profiles.chained]\nsource_profile = '
                     '"classic-role"\nrole_arn = "arn:aws:iam::333333333333:role/Next"\n'
                     'external_id = ""\nmfa_serial = ""\nduration_seconds = 7200\n')
    # The source is a classic botocore assume-role profile (not served by the helper).
    world.write_aws_config(extra=f"[profile classic-role]\nrole_arn = {ROLE_ARN}\n"
                                 f"source_profile = dev\nexternal_id = {EXTERNAL_ID}\n"
                                 "region = eu-west-1\n")
    world.sts.add_role(ROLE_ARN, external_id=EXTERNAL_ID)
    result = world.run("credential-process", "--profile", "chained")
    failure_line(result, pattern=r"profile 'chained': duration_seconds 7200 is over 3600, but "
                                 r"source profile 'classic-role' has temporary credentials .*AWS "
                                 r"limits a role assumed with temporary credentials to 1 hour; set "
                                 r"duration_seconds = 3600 or less for 'chained'")
    # Never sent: AWS refuses it by rule.
    assert [c.params["RoleArn"] for c in world.sts.calls_of("AssumeRole")] == [ROLE_ARN]


def test_when_aws_answers_the_one_hour_rule_anyway_the_message_names_the_signer():
    """AWS words it as role chaining; the rule is about any temporary signer, and the message
    says which one signed (here the MFA session), not that the source has role credentials."""
    from botocore.exceptions import ClientError

    from xaccount_credproc.credentials.source_session import SourceSession
    from xaccount_credproc.errors import ConfigError

    error = ClientError({"Error": {"Code": "ValidationError", "Message": (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.")}}, "AssumeRole")
    source = SourceSession("dev", "eu-west-1", "staging-admin")
    made = source._client_error("AssumeRole", error, role_arn=ROLE_ARN,
                                signer="the cached MFA session", duration=7200)
    assert isinstance(made, ConfigError)
    assert str(made) == ("profile 'staging-admin': AWS limits a role assumed with temporary "
                         "credentials to 1 hour, and this AssumeRole (7200s) was signed by the "
                         "cached MFA session; set duration_seconds = 3600 or less for "
                         "'staging-admin'")
    assert "role credentials" not in str(made)


def test_source_profile_served_by_the_helper_is_refused(world):
    world.standard()
    with_mfa_process(world)
    world.write_toml(world.toml.read_text() + '\n[profiles.loop]\nsource_profile = '
                     '"elsewhere"\nrole_arn = "arn:aws:iam::333333333333:role/X"\n')
    world.write_aws_config("prod-read-only", extra=(
        f"[profile elsewhere]\ncredential_process = {HELPER} credential-process --profile "
        "prod-read-only\n\n"))
    result = world.run("credential-process", "--profile", "loop")
    failure_line(result, pattern=r"source profile 'elsewhere' is itself served by "
                                 r"xaccount-credproc, which would loop")
    assert world.sts.calls == []


def test_indirect_loop_is_stopped_by_the_reentry_marker(world):
    """hop is a plain botocore role profile whose source is a helper profile: botocore would run
    the helper again, which must stop instead of recursing."""
    world.standard()
    with_mfa_process(world)
    world.write_toml(world.toml.read_text() + '\n[profiles.outer]\nsource_profile = "hop"\n'
                     'role_arn = "arn:aws:iam::333333333333:role/X"\n')
    world.write_aws_config("outer", extra="[profile hop]\nrole_arn = arn:aws:iam::444444444444:"
                                          "role/Y\nsource_profile = outer\n\n")
    result = world.run("credential-process", "--profile", "outer", timeout=60)
    failure_line(result, pattern=r"xaccount-credproc was started again while resolving source "
                                 r"credentials \(outer -> outer\)")
    assert world.sts.calls == []


def test_debug_explains_steps_without_secrets(world):
    world.standard()
    with_mfa_process(world)
    result = world.run("credential-process", "--profile", "prod-read-only", "--debug")
    assert result.returncode == 0
    assert "debug: AssumeRole arn:aws:iam::222222222222:role/DevReadOnly-CrossAccount" in (
        result.stderr)
    secret = json.loads(result.stdout)["SecretAccessKey"]
    for value in (secret, MFA_CODE, ALICE_SECRET):
        assert value not in result.stderr


def test_usage_error_is_one_line(world):
    result = world.run("credential-process")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--profile" in result.stderr


@pytest.mark.parametrize("command", [["credential-process", "--profile", "prod-read-only"],
                                     ["list"], []])
def test_secrets_pasted_onto_the_command_line_are_not_echoed(world, command):
    """argparse quotes what it does not understand: a key, a secret or an MFA code typed as an
    argument by mistake must not reach stderr."""
    world.standard()
    pasted = ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", MFA_CODE,
              ALICE_SECRET]
    result = world.run(*command, *pasted)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "hidden" in result.stderr
    for secret in pasted:
        assert secret not in result.stderr
    assert world.sts.calls == []


def test_helper_is_the_installed_console_script():
    assert HELPER.exists() and os.access(HELPER, os.X_OK)
    assert AWS.exists()
