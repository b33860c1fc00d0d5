"""An IAM Identity Center setup the tests of several features start from: the TOML's session
and roles, a device login approved from another device, and who signed a call."""

import subprocess
import threading
import time

SSO_TOML = """\
[defaults]
region = "eu-west-1"

[sso-sessions.corp]
sso_start_url = "https://corp.awsapps.com/start"
sso_region = "eu-west-1"
sso_registration_scopes = ["sso:account:access"]

[profiles.corp-dev]
sso_session = "corp"
sso_account_id = "111111111111"
sso_role_name = "Developer"

[profiles.corp-ro]
sso_session = "corp"
sso_account_id = "111111111111"
sso_role_name = "ReadOnly"
"""


def sso_profiles(world, extra: str = "", aws_config: str | None = None):
    world.write_toml(SSO_TOML + extra)
    if aws_config is not None:
        world.aws_config.write_text(aws_config)
    result = world.run("init")
    assert result.returncode == 0, result.stderr
    return result


def approving(sso, count: int = 1):
    """A person who approves, from another device, each code a device login shows."""
    def approve():
        deadline = time.monotonic() + 60
        done = 0
        while done < count and time.monotonic() < deadline:
            for code in sso.pending_user_codes():
                sso.approve(code)
                done += 1
            time.sleep(0.2)

    thread = threading.Thread(target=approve, daemon=True)
    thread.start()
    return thread


def device_login(world, sso, *extra):
    approving(sso)
    result = world.run("sso", "login", "--sso-session", "corp", "--use-device-code",
                       "--no-browser", *extra, timeout=90)
    assert result.returncode == 0, result.stderr
    return result


def signed_in_as(world, *argv: str, profile: str = "corp-sso") -> str:
    """Who signed the GetCallerIdentity that `argv` (the plain `aws` CLI, boto3) just made
    with `profile`: the SSO role whose credentials botocore got from the portal."""
    before = len(world.sts.calls_of("GetCallerIdentity"))
    if argv:
        result = subprocess.run([*argv], env=world.env, capture_output=True, text=True,
                                timeout=90)
    else:
        result = world.aws("sts", "get-caller-identity", "--profile", profile)
    assert result.returncode == 0, result.stderr
    calls = world.sts.calls_of("GetCallerIdentity")[before:]
    assert len(calls) == 1
    return world.sts.caller_arn(calls[0].caller)
