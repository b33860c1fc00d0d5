"""A world whose roles stand on an AWS Sign-In login (console credentials): the TOML's roles
with `source_profile = "signedin"`, the AWS profile the AWS CLI's `aws login` writes, its token
file, and what the tests of logins look at."""

import hashlib
import json
import os
import sys
import time

from tests.harness.signin_emulator import ALICE, ISSUED, key_secrets
from tests.harness.world import ADMIN_ROLE_ARN, EXTERNAL_ID, ROLE_ARN

SUPPORT_ARN = "arn:aws:iam::444444444444:role/Support"
AUDIT_ARN = "arn:aws:iam::555555555555:role/Audit"
ROLES = {"prod-read-only": ROLE_ARN, "admin": ADMIN_ROLE_ARN, "support": SUPPORT_ARN,
         "audit": AUDIT_ARN}

LOGIN_TOML = f"""\
[defaults]
source_profile = "signedin"
region = "eu-west-1"
role_session_name = "alice"

[profiles.prod-read-only]
role_arn = "{ROLE_ARN}"
external_id = "{EXTERNAL_ID}"

[profiles.admin]
role_arn = "{ADMIN_ROLE_ARN}"

[profiles.support]
role_arn = "{SUPPORT_ARN}"

[profiles.audit]
role_arn = "{AUDIT_ARN}"
"""


def token_path(world, arn: str = ALICE):
    return world.home / ".aws" / "login" / "cache" / (
        hashlib.sha256(arn.encode()).hexdigest() + ".json")


def write_token(world, document: dict, arn: str = ALICE) -> None:
    """The token file as `aws login` (botocore's JSONFileCache) leaves it."""
    path = token_path(world, arn)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    path.chmod(0o600)
    remember_key(world, arn)


def remember_key(world, arn: str = ALICE) -> None:
    """The login's DPoP key (made by the helper, or by the test) among the scan's secrets."""
    path = token_path(world, arn)
    if path.exists():
        ISSUED.extend(key_secrets(json.loads(path.read_text()).get("dpopKey") or ""))


def read_token(world, arn: str = ALICE) -> dict:
    return json.loads(token_path(world, arn).read_text())


def expire_access(world, arn: str = ALICE) -> None:
    """The token file's access key ran out (as after 15 minutes): the next use refreshes."""
    document = read_token(world, arn)
    document["accessToken"]["expiresAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                         time.gmtime(time.time() - 60))
    token_path(world, arn).write_text(json.dumps(document))
    world.sts.expire_key(document["accessToken"]["accessKeyId"])


def login_world(world, signin, toml_extra: str = "", aws_login: bool = True,
                access_left: float | None = None) -> None:
    """Alice signed in with `aws login` (a token file, `login_session` in [profile
    signedin]), four roles behind the login (one with ExternalId), and `init` run."""
    world.sts.add_role(ROLE_ARN, external_id=EXTERNAL_ID)
    for arn in (ADMIN_ROLE_ARN, SUPPORT_ARN, AUDIT_ARN):
        world.sts.add_role(arn)
    world.write_toml(LOGIN_TOML + toml_extra)
    world.aws_config.write_text(
        f"[profile signedin]\nlogin_session = {ALICE}\nregion = eu-west-1\n\n")
    if aws_login:
        write_token(world, signin.log_in(access_left=access_left))
    result = world.run("init")
    assert result.returncode == 0, result.stderr


def following_browser(world, delay: float = 0.0, record=None) -> str:
    """$BROWSER as a program that does what a browser does with the authorize URL: follows it
    back to the loopback listener (after `delay` seconds), noting each start in `record`."""
    browser = world.root / "login-browser"
    note = (f"open({str(record)!r}, 'a').write(json.dumps(sys.argv) + chr(10))\n"
            if record else "")
    browser.write_text(f"#!{sys.executable}\nimport json, sys, time, urllib.request\n{note}"
                       f"time.sleep({delay})\n"
                       "urllib.request.urlopen(sys.argv[1], timeout=10).read()\n")
    browser.chmod(0o755)
    return str(browser)


def verification_code(url: str) -> str:
    """What a person on another device sees after signing in at `url` (cross device): the
    code the confirmation page shows."""
    import re
    import urllib.request

    page = urllib.request.urlopen(url, timeout=10).read().decode()
    return re.search(r"id='verification-code'>([^<]+)<", page).group(1)


def login_env(world) -> dict:
    """No desktop and no browser: nothing can be opened out of band."""
    return {"DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": ""}


def stat_mode(path) -> int:
    return os.stat(path).st_mode & 0o777
