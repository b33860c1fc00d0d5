"""Worlds set up the way the tests of several features start from, and the short runs they
share (a test module imports these; none defines its own)."""

import json
import subprocess
import time
from pathlib import Path

from tests.harness.world import ADMIN_ROLE_ARN, HELPER

DEPLOY_ARN = "arn:aws:iam::333333333333:role/Deploy"

# A two-hour role that needs MFA: it takes its own code (AWS limits a role assumed with an MFA
# session to one hour).
LONG_ROLE = f"""
[profiles.staging-admin]
role_arn = "{ADMIN_ROLE_ARN}"
duration_seconds = 7200
"""

# Profiles that each break one rule of a chain or a value, beside working ones.
BROKEN = '''
[profiles.loop-a]
role_arn = "arn:aws:iam::333333333333:role/A"
source_profile = "loop-b"

[profiles.loop-b]
role_arn = "arn:aws:iam::333333333333:role/B"
source_profile = "loop-a"

[profiles.typo]
role_arn = "arn:aws:iam::333333333333:role/T"
duration_seconds = "3600"

[profiles.hop1]
role_arn = "arn:aws:iam::444444444441:role/H"
mfa_serial = ""
duration_seconds = 3600
[profiles.hop2]
role_arn = "arn:aws:iam::444444444442:role/H"
source_profile = "hop1"
[profiles.hop3]
role_arn = "arn:aws:iam::444444444443:role/H"
source_profile = "hop2"
[profiles.hop4]
role_arn = "arn:aws:iam::444444444444:role/H"
source_profile = "hop3"
[profiles.hop5]
role_arn = "arn:aws:iam::444444444445:role/H"
source_profile = "hop4"
[profiles.too-deep]
role_arn = "arn:aws:iam::444444444446:role/H"
source_profile = "hop5"
'''


def setup(world, aws_config: str = "") -> None:
    """Alice's world, her codes from an OTP tool, an AWS config holding `aws_config`."""
    world.standard()
    world.use_mfa_process()
    world.aws_config.write_text(aws_config)


def ready(world, aws_config: str = "") -> None:
    """`setup`, then `init`: the real `aws` CLI works."""
    setup(world, aws_config)
    result = world.run("init")
    assert result.returncode == 0, result.stderr


def run_ok(world, *args, **kwargs) -> subprocess.CompletedProcess:
    result = world.run(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    return result


def helper(world, profile: str = "prod-read-only", env: dict | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess:
    """The helper run as ~/.aws/config runs it."""
    return world.run("credential-process", "--profile", profile, env=env, timeout=timeout)


def helper_json(world, profile: str = "prod-read-only", **kwargs) -> dict:
    """The helper's credential_process document; it must succeed without a word on stderr."""
    result = world.run("credential-process", "--profile", profile, **kwargs)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def identity_and_direct_run(world, profile: str = "prod-read-only", env: dict | None = None):
    """The identity the real `aws` CLI gets, and the helper's own run (botocore swallows the
    stderr of a credential_process that succeeds, so warnings are read from a direct run)."""
    arn = world.identity(profile, env=env)
    direct = world.run("credential-process", "--profile", profile, env=env)
    assert direct.returncode == 0, direct.stderr
    assert json.loads(direct.stdout)["AccessKeyId"].startswith("ASIA")
    return arn, direct


def add_admin_profile(world) -> None:
    """A second role (Admin, with MFA) behind the same source and device."""
    world.sts.add_role(ADMIN_ROLE_ARN, mfa_required=True)
    world.write_toml(world.toml.read_text()
                     + f'\n[profiles.admin]\nrole_arn = "{ADMIN_ROLE_ARN}"\n')
    world.write_aws_config("prod-read-only", "admin")


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


def broken_world(world):
    """Alice's world beside profiles that are each broken in their own way (BROKEN)."""
    world.standard()
    world.use_mfa_process()
    world.write_toml(world.toml.read_text().replace("duration_seconds", "# duration_seconds")
                     + 'duration_seconds = 3600\n' + BROKEN)
    return world


def start_with_mfa_script(world, body: str, ready_file: Path) -> subprocess.Popen:
    """The helper, started as an IDE's aws starts it, with a shell script of `body` as its
    mfa_process; returns once the script has made `ready_file`."""
    script = world.root / "otp-script.sh"
    script.write_text(f"#!/bin/sh\n{body}")
    script.chmod(0o700)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{script}"\n'))
    process = subprocess.Popen([str(HELPER), "credential-process", "--profile", "prod-read-only"],
                               env=world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while not ready_file.exists():
        assert time.monotonic() < deadline, "mfa_process never started"
        time.sleep(0.05)
    return process
