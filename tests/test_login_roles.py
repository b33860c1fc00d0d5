"""A login (AWS Sign-In's console credentials) as the source of every cross-account role: its
roles with ExternalId, session names, SourceIdentity and tags, chains behind it, N callers and
one refresh, a person asked only when the login has ended, the credential server, `exec
--server` and `console`; what AWS has not published run both ways through the emulator's
switches."""

import concurrent.futures
import json
import subprocess
import sys
import time

import pytest

from tests.harness.checks import failure_line
from tests.harness.logins import (
    AUDIT_ARN,
    ROLES,
    SUPPORT_ARN,
    expire_access,
    following_browser,
    login_env,
    login_world,
    read_token,
    remember_key,
    verification_code,
)
from tests.harness.setups import helper_json
from tests.harness.signin_emulator import ALICE
from tests.harness.world import ADMIN_ROLE_ARN, ASSUMED, HELPER, MFA_SERIAL, ROLE_ARN

HUB_ARN = "arn:aws:iam::666666666666:role/Hub"
SPOKE_ARN = "arn:aws:iam::777777777777:role/Spoke"


def test_a_role_behind_a_login_is_assumed_with_everything_its_profile_says(world, signin):
    """ExternalId, the session name, SourceIdentity and session tags on the AssumeRole that the
    login's own credentials sign; never a GetSessionToken (it is for long-term keys); the real
    `aws` CLI gets the role through the stanza `init` wrote."""
    login_world(world, signin, toml_extra="""
[profiles.attributed]
role_arn = "arn:aws:iam::888888888888:role/Attributed"
source_identity = "alice"
tags = { team = "blue" }
""")
    world.sts.add_role("arn:aws:iam::888888888888:role/Attributed", set_source_identity=True,
                       tag_session=True)
    assert world.identity() == ASSUMED
    assert world.identity("attributed").startswith(
        "arn:aws:sts::888888888888:assumed-role/Attributed/alice")
    first, second = world.sts.calls_of("AssumeRole")
    assert first.params["ExternalId"] == "DeveloperAccess"
    assert first.params["RoleSessionName"] == "alice"
    assert second.params["SourceIdentity"] == "alice"
    assert second.params["Tags.member.1.Key"] == "team"
    assert {world.sts.caller_arn(c.caller) for c in (first, second)} == {ALICE}
    assert world.sts.calls_of("GetSessionToken") == []
    assert signin.token_calls() == []  # the access key was fresh: no refresh


def test_a_chain_behind_a_login(world, signin):
    login_world(world, signin, toml_extra=f"""
[profiles.hub]
role_arn = "{HUB_ARN}"

[profiles.spoke]
role_arn = "{SPOKE_ARN}"
source_profile = "hub"
""")
    world.sts.add_role(HUB_ARN)
    world.sts.add_role(SPOKE_ARN, trusts=(HUB_ARN,))
    assert world.identity("spoke").startswith("arn:aws:sts::777777777777:assumed-role/Spoke/")
    hub, spoke = world.sts.calls_of("AssumeRole")
    assert world.sts.caller_arn(hub.caller) == ALICE
    assert world.sts.caller_arn(spoke.caller).startswith("arn:aws:sts::666666666666:")


@pytest.mark.parametrize("refused", [True, False], ids=["used-token-refused",
                                                     "used-token-accepted"])
def test_8_callers_of_4_roles_behind_an_expired_login_make_one_refresh(world, signin, refused):
    """The login's access key has run out; eight `credential_process` runs of four roles at
    once, stdin closed: every one served, one CreateOAuth2Token between them (under the
    login's lock, each reading the file again), one AssumeRole per role. Whether AWS refuses
    a refresh token used before is not published: the same either way."""
    signin.refuse_used_refresh_tokens = refused
    login_world(world, signin, access_left=-60)
    names = [name for name in ROLES for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda name: world.run(
            "credential-process", "--profile", name, stdin=subprocess.DEVNULL), names))
    for result in results:
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    assert [c["grant"] for c in signin.token_calls()] == ["refresh_token"]
    assert sorted(c.params["RoleArn"] for c in world.sts.calls_of("AssumeRole")) == \
        sorted(ROLES.values())
    assert signin.rotations() == 1


@pytest.mark.parametrize("capped", [True, False], ids=["aws-caps-1h", "aws-does-not-cap"])
def test_a_role_over_an_hour_is_refused_before_any_call_either_way(world, signin, capped):
    """Whether AWS holds a role assumed with console credentials to an hour is not published:
    the helper treats them as the temporary credentials they are, whichever AWS does."""
    world.sts.login_role_cap = capped
    login_world(world, signin, toml_extra="""
[profiles.long]
role_arn = "arn:aws:iam::999999999999:role/Long"
duration_seconds = 7200
""")
    world.sts.add_role("arn:aws:iam::999999999999:role/Long")
    failure_line(world.run("credential-process", "--profile", "long"),
                 "duration_seconds 7200 is over 3600", "source profile 'signedin' has "
                 "temporary credentials", code=2)
    assert world.sts.calls_of("AssumeRole") == []
    assert helper_json(world, "admin")["AccessKeyId"]  # an hour is fine either way


@pytest.mark.parametrize("mode", ["code", "console"])
def test_mfa_behind_a_login_either_way_aws_may_take_it(world, signin, mode):
    """A role that requires MFA, behind a login. Whether AWS takes a TOTP code on an
    AssumeRole signed by console credentials, or counts the console sign-in's own MFA, is not
    published: with mfa_serial the code goes on that AssumeRole (there is no GetSessionToken
    with console credentials); where AWS refuses it, one line says what to change."""
    world.sts.login_mfa = mode
    login_world(world, signin, toml_extra=f'\n[profiles.guarded]\nrole_arn = '
                                          f'"arn:aws:iam::999999999999:role/Guarded"\n'
                                          f'mfa_serial = "{MFA_SERIAL}"\n'
                                          + world.mfa_process_line())
    world.sts.add_role("arn:aws:iam::999999999999:role/Guarded", mfa_required=True)
    world.use_listed_codes()
    result = world.run("credential-process", "--profile", "guarded")
    assert world.sts.calls_of("GetSessionToken") == []
    (call,) = world.sts.calls_of("AssumeRole")
    assert call.params["SerialNumber"] == MFA_SERIAL and "TokenCode" in call.params
    if mode == "code":
        assert result.returncode == 0, result.stderr
        return
    failure_line(result, "AWS refused the MFA code on the AssumeRole of profile 'guarded', "
                 "which login 'signedin' signed", "remove mfa_serial from profile 'guarded'",
                 code=3)
    text = world.toml.read_text().replace(f'mfa_serial = "{MFA_SERIAL}"', 'mfa_serial = ""')
    world.write_toml(text)
    assert helper_json(world, "guarded")["AccessKeyId"]  # the console sign-in's MFA counts


@pytest.mark.parametrize("ended", ["TOKEN_EXPIRED", "USER_CREDENTIALS_CHANGED",
                                   "INSUFFICIENT_PERMISSIONS"])
def test_a_login_that_cannot_be_refreshed_is_one_line_naming_what_to_do(world, signin, ended):
    login_world(world, signin, access_left=-60)
    if ended == "TOKEN_EXPIRED":
        signin.end_login()
        words = ("login 'signedin' has ended (TOKEN_EXPIRED: a login lasts 12 hours)",
                 "and there is no terminal or browser here to sign in with",
                 "run 'xaccount-credproc login --profile signedin'")
    elif ended == "USER_CREDENTIALS_CHANGED":
        signin.change_credentials()
        words = ("the password or MFA of the identity changed", "USER_CREDENTIALS_CHANGED")
    else:
        signin.without_permission.add(ALICE)
        words = (f"{ALICE} may not use console credentials for the CLI",
                 "INSUFFICIENT_PERMISSIONS", "attach the AWS managed policy "
                 "SignInLocalDevelopmentAccess (signin:CreateOAuth2Token)")
    before = read_token(world)
    failure_line(world.run("credential-process", "--profile", "admin", env=login_env(world)),
                 *words, code=3, secrets=(before["refreshToken"],))
    assert read_token(world) == before
    assert world.sts.calls_of("AssumeRole") == []


def test_at_a_terminal_an_ended_login_is_offered_there_and_the_role_served(world, signin):
    """No desktop: credential-process shows the sign-in URL on the terminal and takes the
    code typed back (the cross-device flow), then assumes the role."""
    from tests.harness.terminal import Terminal

    login_world(world, signin, access_left=-60)
    signin.end_login()
    terminal = Terminal([str(HELPER), "credential-process", "--profile", "admin"],
                        env={**world.env, **login_env(world)})
    try:
        screen = terminal.expect(r"verification code: ")
        url = screen.split("it shows: ")[1].split()[0]
        terminal.type(verification_code(url) + "\n")
        result = terminal.finish()
    finally:
        terminal.proc.kill()
    remember_key(world)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"]
    assert [c["grant"] for c in signin.token_calls()] == ["refresh_token",
                                                          "authorization_code"]
    assert world.sts.caller_arn(world.sts.calls_of("AssumeRole")[0].caller) == ALICE


def test_without_a_terminal_the_browser_login_opens_once_for_every_caller(world, signin):
    """An IDE runs four roles at once, no terminal, a browser at hand: one browser login out
    of band, then every caller is served."""
    login_world(world, signin, access_left=-60)
    signin.end_login()
    record = world.root / "browser-starts"
    env = {"BROWSER": following_browser(world, delay=1.0, record=record)}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda name: world.run(
            "credential-process", "--profile", name, env=env, timeout=120), ROLES))
    remember_key(world)
    for result in results:
        assert result.returncode == 0, result.stderr
    assert len(record.read_text().splitlines()) == 1
    assert [c["grant"] for c in signin.token_calls()].count("authorization_code") == 1


def test_the_server_says_login_required_within_a_second_and_serves_after_a_login(world,
                                                                                signin):
    from tests.harness.cred_server import CredServer, get
    from tests.harness.logins import write_token

    login_world(world, signin, access_left=-60)
    signin.end_login()
    server = CredServer(world, env=login_env(world)).start()
    try:
        env = server.client_env("admin")
        url, headers = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], {
            "Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
        started = time.monotonic()
        status, body = get(url, headers)
        deadline = time.monotonic() + 10
        while body.get("code") == "CredentialsPending" and time.monotonic() < deadline:
            time.sleep(0.2)
            status, body = get(url, headers)
        assert time.monotonic() - started < 5
        assert (status, body["code"]) == (503, "LoginRequired"), body
        assert "'xaccount-credproc login --profile signedin'" in body["message"]
        write_token(world, signin.log_in())  # the person ran `aws login`
        time.sleep(5.5)  # the failure is held for 5 s (server/supply.py FAILURE_HOLD)
        status, body = get(url, headers)
        assert status == 200, body
        assert world.sts.caller_arn(world.sts.calls_of("AssumeRole")[0].caller) == ALICE
    finally:
        server.stop()


def test_the_servers_background_renewal_never_starts_a_login(world, signin):
    from tests.harness.cred_server import CredServer, get_served

    login_world(world, signin)
    world.sts.lifetime = 1200 + 2  # each role session due for renewal after 2 s
    record = world.root / "browser-starts"
    server = CredServer(world, env={"BROWSER": following_browser(world, record=record)}).start()
    try:
        env = server.client_env("admin")
        get_served(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                   {"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
        expire_access(world)
        signin.end_login()
        time.sleep(6)
        assert "not renewed profile=admin" in server.log()
        assert not record.exists()
        assert [c["grant"] for c in signin.token_calls()].count("authorization_code") == 0
    finally:
        server.stop()


def test_exec_server_and_console_serve_a_role_behind_a_login(world, signin):
    from tests.harness.federation import FederationEndpoint

    login_world(world, signin)
    code = ("import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])")
    result = world.run("exec", "--profile", "prod-read-only", "--server", "--", sys.executable,
                       "-c", code, env={"XDG_RUNTIME_DIR": str(world.root)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ASSUMED
    federation = FederationEndpoint(world.sts)
    try:
        printed = world.run("console", "--profile", "admin", "--print",
                            env={"XACCOUNT_CREDPROC_FEDERATION_URL": federation.url})
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.startswith(federation.url) and "SigninToken=" in printed.stdout
    finally:
        federation.stop()


def test_every_role_of_the_four_is_signed_by_the_login(world, signin):
    login_world(world, signin)
    for name in ROLES:
        assert helper_json(world, name)["AccessKeyId"]
    callers = {world.sts.caller_arn(c.caller) for c in world.sts.calls_of("AssumeRole")}
    assert callers == {ALICE}
    assert {c.params["RoleArn"] for c in world.sts.calls_of("AssumeRole")} == {
        ROLE_ARN, ADMIN_ROLE_ARN, SUPPORT_ARN, AUDIT_ARN}
