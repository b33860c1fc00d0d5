"""`login` and `logout`: AWS Sign-In's console credentials, as `aws login` makes them, through
the real browser flows (a stand-in browser, headless Chromium, a terminal for the cross-device
code), into the token file the AWS CLI and botocore share (read by the real botocore with
awscrt both ways) or the OS keyring alone; and every bad input one line."""

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from tests.harness.checks import failure_line
from tests.harness.logins import (
    LOGIN_TOML,
    expire_access,
    following_browser,
    login_world,
    read_token,
    remember_key,
    token_path,
    verification_code,
    write_token,
)
from tests.harness.setups import helper_json
from tests.harness.signin_emulator import ALICE, CROSS_DEVICE, ISSUED, SAME_DEVICE
from tests.harness.world import ASSUMED, HELPER

BOTO_IDENTITY = ("import boto3, json; print(boto3.Session(profile_name='signedin')"
                 ".client('sts').get_caller_identity()['Arn'])")


def login(world, *args, env=None, timeout=90):
    result = world.run("login", "--profile", "signedin", *args, env=env, timeout=timeout)
    remember_key(world)
    return result


def botocore_identity(world) -> subprocess.CompletedProcess:
    """The real botocore (with awscrt, botocore[crt]) using the login through its own
    LoginProvider, as any boto3 program with `profile_name` does."""
    return subprocess.run([sys.executable, "-c", BOTO_IDENTITY], env=world.env,
                          capture_output=True, text=True, timeout=60)


def test_a_same_device_login_writes_the_aws_clis_token_and_botocore_uses_it(world, signin):
    """The browser (a program that follows the authorize page as a browser does) comes back to
    the loopback listener; the code is redeemed with PKCE and a DPoP proof; the token is
    written where and as the AWS CLI writes it, and botocore's own provider signs with it."""
    world.aws_config.write_text("[profile other]\nregion = eu-central-1\n")
    argv = world.root / "browser-argv"
    result = login(world, env={"BROWSER": following_browser(world, record=argv)})
    assert result.returncode == 0, result.stderr
    (opened,) = [json.loads(line) for line in argv.read_text().splitlines()]
    assert opened[1].startswith(f"{signin.url}/v1/authorize?")
    for secret in ISSUED:  # the code, the verifier, the tokens: never on a command line
        assert secret not in opened[1]
    assert f"signed in as {ALICE} (login 'signedin')" in result.stdout
    assert "Opened the AWS sign-in page for login 'signedin'" in result.stderr
    assert [c["grant"] for c in signin.token_calls()] == ["authorization_code"]
    assert signin.token_calls()[0]["client"] == SAME_DEVICE
    path = token_path(world)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = read_token(world)
    assert set(document) >= {"accessToken", "tokenType", "clientId", "refreshToken", "idToken",
                             "dpopKey"}
    assert set(document["accessToken"]) == {"accessKeyId", "secretAccessKey", "sessionToken",
                                            "accountId", "expiresAt"}
    assert document["accessToken"]["accountId"] == "111111111111"
    assert document["dpopKey"].startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in document["dpopKey"].splitlines())
    config = world.aws_config.read_text()
    assert config.startswith("[profile other]\nregion = eu-central-1\n")
    assert f"[profile signedin]\nlogin_session = {ALICE}\nregion = us-east-1\n" in config
    identity = botocore_identity(world)
    assert identity.returncode == 0, identity.stderr
    assert identity.stdout.strip() == ALICE
    for secret in ISSUED:
        assert secret not in result.stdout + result.stderr


def test_a_real_chromium_completes_the_login(world, signin):
    import shutil

    from tests.harness import unavailable

    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("chromium is not installed: run scripts/bootstrap.sh")
    page = world.root / "page.html"
    browser = world.root / "chromium-browser"
    browser.write_text(f"#!/bin/sh\nexec {chromium} --headless=new --no-sandbox --disable-gpu "
                       f"--user-data-dir={world.root / 'chromium-profile'} "
                       f'--dump-dom "$1" > {page} 2>/dev/null\n')
    browser.chmod(0o755)
    result = login(world, env={"BROWSER": str(browser)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Signed in to AWS. You can close this window" in page.read_text()
    assert botocore_identity(world).stdout.strip() == ALICE


def test_a_cross_device_login_takes_the_code_typed_on_the_terminal_unechoed(world, signin):
    """--remote: the URL is printed; a person opens it on another device, signs in, and types
    the code the confirmation page shows; it is not echoed, and the login is the CLI's."""
    from tests.harness.terminal import Terminal

    terminal = Terminal([str(HELPER), "login", "--profile", "signedin", "--remote"],
                        env=world.env)
    try:
        said = terminal.proc.stderr.readline().decode()
        url = said.rsplit(": ", 1)[1].strip()
        assert "Open this URL in a browser on any device" in said, said
        assert url.startswith(f"{signin.url}/v1/authorize?")
        assert "client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device" in url
        terminal.expect("Enter the verification code the page shows: ")
        code = verification_code(url)
        terminal.type(code + "\n")
        result = terminal.finish()
    finally:
        terminal.proc.kill()
    remember_key(world)
    assert result.returncode == 0, result.stderr
    assert code not in terminal.screen.decode() + result.stdout + result.stderr
    assert f"signed in as {ALICE}" in result.stdout
    assert [c["client"] for c in signin.token_calls()] == [CROSS_DEVICE]
    assert read_token(world)["clientId"] == CROSS_DEVICE


def test_a_wrong_pasted_code_is_one_line_and_writes_nothing(world, signin):
    result = world.run("login", "--profile", "signedin", "--remote",
                       stdin=None, input="bm90LWEtY29kZQ==\n")
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("xaccount-credproc: that is not the verification code"), lines
    assert "Traceback" not in result.stderr
    assert not token_path(world).exists() and not world.aws_config.exists()
    assert signin.token_calls() == []


def test_a_code_of_another_sign_in_is_refused_before_it_is_redeemed(world, signin):
    """The code a page showed for another sign-in (its state differs): refused here, so a code
    someone else started cannot sign this CLI in as them."""
    import base64

    other = base64.b64encode(b"state=not-this-one&code=codeXYZ").decode()
    result = world.run("login", "--profile", "signedin", "--remote", stdin=None,
                       input=other + "\n")
    assert result.returncode == 3
    assert "the verification code is of another sign-in" in result.stderr
    assert signin.token_calls() == [] and not token_path(world).exists()


def test_a_browser_that_never_comes_back_is_one_line_within_the_bound(world, signin):
    signin.person = None  # the page waits for a person who never comes
    started = time.monotonic()
    result = login(world, env={"BROWSER": following_browser(world),
                               "XACCOUNT_CREDPROC_LOGIN_TIMEOUT": "2"})
    assert time.monotonic() - started < 30
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1].startswith(
        "xaccount-credproc: the browser did not come back to http://127.0.0.1:")
    assert "within 2s" in result.stderr
    assert not token_path(world).exists()


def test_no_browser_prints_the_url_and_a_declined_sign_in_is_one_line(world, signin):
    signin.person = {"arn": ALICE, "mfa": True, "allow": False}
    process = subprocess.Popen([str(HELPER), "login", "--profile", "signedin", "--no-browser"],
                               env=world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = process.stderr.readline()
        assert "Open this URL in a browser on this computer" in line, line
        url = line.rsplit(": ", 1)[1].strip()
        assert "code_challenge_method=SHA-256" in url and "scope=openid" in url
        import urllib.request

        urllib.request.urlopen(url, timeout=10).read()
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 3
    assert "the sign-in was not completed in the browser (access_denied)" in err
    assert not token_path(world).exists()


@pytest.mark.parametrize("key", ["aws_access_key_id = AKIAEXAMPLEEXAMPLE12",
                                 "credential_process = /bin/true", "role_arn = arn:aws:iam::1:role/x"])
def test_a_profile_that_gets_credentials_another_way_is_refused(world, signin, key):
    before = f"[profile signedin]\n{key}\nregion = eu-west-1\n"
    world.aws_config.write_text(before)
    result = login(world, env={"BROWSER": following_browser(world)})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "AWS profile 'signedin' already gets" in result.stderr
    assert world.aws_config.read_text() == before and not token_path(world).exists()


def test_a_login_made_by_aws_login_serves_roles_and_botocore_rotates_what_the_helper_reads(
        world, signin):
    """Both ways through the one file: botocore (awscrt) refreshes an expired login first,
    rotating its refresh token; the helper, later, refreshes from the file, not from a copy of
    its own, and AWS (which refuses a used refresh token here) accepts it."""
    assert signin.refuse_used_refresh_tokens
    login_world(world, signin, access_left=-60)
    identity = botocore_identity(world)
    assert identity.returncode == 0, identity.stderr
    assert [c["grant"] for c in signin.token_calls()] == ["refresh_token"]
    assert signin.rotations() == 1
    expire_access(world)
    assert helper_json(world)["AccessKeyId"].startswith("ASIA")
    assert [c["status"] for c in signin.token_calls()] == [200, 200]
    assert signin.rotations() == 2
    assert world.identity() == ASSUMED
    assert world.sts.caller_arn(world.sts.calls_of("AssumeRole")[0].caller) == ALICE


def test_a_login_the_helper_refreshed_is_read_by_botocore(world, signin):
    login_world(world, signin, access_left=-60)
    assert helper_json(world)["AccessKeyId"]
    assert signin.rotations() == 1
    document = read_token(world)
    assert document["clientId"] == CROSS_DEVICE  # every member botocore wrote is kept
    identity = botocore_identity(world)
    assert identity.stdout.strip() == ALICE, identity.stderr
    assert signin.rotations() == 1  # botocore found it fresh: nothing more to do


def test_a_login_kept_in_the_os_keyring_leaves_no_file(world, signin):
    login_world(world, signin, aws_login=False,
                toml_extra='\n[logins.signedin]\nstorage = "keyring"\n')
    world.aws_config.write_text("")
    result = login(world, env={"BROWSER": following_browser(world)})
    assert result.returncode == 0, result.stderr
    assert not (world.home / ".aws" / "login").exists()
    assert world.aws_config.read_text() == ""
    assert any(i.get("username", "").startswith("login/signedin")
               for i in world.keyring_items())
    assert helper_json(world)["AccessKeyId"]
    listed = world.run("list")
    assert f"login 'signedin' (OS keyring): {ALICE}" in listed.stdout, listed.stdout
    result = world.run("logout", "--profile", "signedin")
    assert result.returncode == 0 and "logged out of login 'signedin'" in result.stdout
    assert not any(i.get("username", "").startswith("login/") for i in world.keyring_items())


def test_logout_removes_the_token_and_all_removes_every_one(world, signin):
    login_world(world, signin)
    result = world.run("logout", "--profile", "signedin")
    assert result.returncode == 0, result.stderr
    assert "logged out of login 'signedin'" in result.stdout
    assert not token_path(world).exists()
    write_token(world, signin.log_in())
    other = "arn:aws:iam::111111111111:user/bob"
    write_token(world, signin.log_in(arn=other), arn=other)
    result = world.run("logout", "--all")
    assert result.returncode == 0 and ALICE in result.stdout and other in result.stdout
    assert list(token_path(world).parent.iterdir()) == []


def test_list_shows_each_login_without_a_token(world, signin):
    login_world(world, signin)
    result = world.run("list")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "login 'signedin'" in line)
    assert ALICE in line and "access key until" in line and "login ends" in line
    document = read_token(world)
    for secret in (document["refreshToken"], document["accessToken"]["secretAccessKey"],
                   document["accessToken"]["sessionToken"]):
        assert secret not in result.stdout + result.stderr


# -- bad token files, one line each, nothing written -------------------------------------------


def _refused_untouched(world, before: bytes, result, *words: str) -> None:
    failure_line(result, *words)
    assert token_path(world).read_bytes() == before


@pytest.mark.parametrize("damage", ["truncated", "not-json", "no-key"])
def test_a_corrupt_token_file_is_one_line_and_left_as_it_is(world, signin, damage):
    login_world(world, signin)
    path = token_path(world)
    text = path.read_text()
    path.write_text({"truncated": text[: len(text) // 2], "not-json": "<html>",
                     "no-key": json.dumps({**json.loads(text), "dpopKey": None})}[damage])
    before = path.read_bytes()
    result = world.run("credential-process", "--profile", "prod-read-only")
    _refused_untouched(world, before, result, "lacks dpopKey" if damage == "no-key" else
                       "is not a login token (truncated or corrupt JSON)",
                       "xaccount-credproc login --profile signedin")


def test_a_token_readable_by_others_is_refused(world, signin):
    login_world(world, signin)
    token_path(world).chmod(0o644)
    before = token_path(world).read_bytes()
    result = world.run("credential-process", "--profile", "prod-read-only")
    _refused_untouched(world, before, result, "readable or writable by other users (mode 0644)",
                       f"chmod 600 {token_path(world)}")


def test_a_token_of_another_user_is_refused(world, signin, throwaway_user):
    login_world(world, signin)
    os.chown(token_path(world), throwaway_user.pw_uid, -1)
    before = token_path(world).read_bytes()
    result = world.run("credential-process", "--profile", "prod-read-only")
    _refused_untouched(world, before, result,
                       f"belongs to another user (uid {throwaway_user.pw_uid})")


def test_a_key_that_is_not_the_logins_is_refused_by_aws_and_said_so(world, signin):
    login_world(world, signin, access_left=-60)
    other = signin.log_in(arn="arn:aws:iam::111111111111:user/bob")["dpopKey"]
    ISSUED.extend(other.splitlines()[1:-1])
    document = read_token(world)
    document["dpopKey"] = other
    token_path(world).write_text(json.dumps(document))
    result = world.run("credential-process", "--profile", "prod-read-only", env={"BROWSER": ""})
    assert result.returncode == 3
    assert "refused the proof of possession of login 'signedin' (invalid_dpop_proof): its " \
           "dpopKey is not the key the login was bound to" in result.stderr
    assert [c["error"] for c in signin.token_calls()] == ["invalid_dpop_proof"]


def test_a_key_that_is_not_a_key_is_one_line(world, signin):
    login_world(world, signin, access_left=-60)
    document = read_token(world)
    document["dpopKey"] = "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n"
    token_path(world).write_text(json.dumps(document))
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "the dpopKey of login 'signedin'" in result.stderr
    assert signin.token_calls() == []


@pytest.mark.parametrize("answer", ["500", "html", "mute"])
def test_a_failing_sign_in_service_is_one_bounded_line(world, signin, answer):
    login_world(world, signin, access_left=-60)
    if answer == "500":
        signin.answer_next.append((500, "application/json", b'{"error": "server_error", '
                                   b'"message": "oops"}', {"x-amzn-ErrorType":
                                                          "InternalServerException"}))
    elif answer == "html":
        signin.answer_next.append((200, "text/html", b"<html>captive portal</html>"))
    else:
        signin.mute.set()
    started = time.monotonic()
    result = world.run("credential-process", "--profile", "prod-read-only")
    signin.mute.clear()
    assert time.monotonic() - started < 30
    assert result.returncode == 3 and result.stderr.count("\n") == 1, result.stderr
    expected = {"500": "failed CreateOAuth2Token (refresh) (HTTP 500, server_error; sent once",
                "html": "with something that is not an API response",
                "mute": "did not answer CreateOAuth2Token (refresh) within 10s (sent once: a "
                        "refresh token is never sent twice)"}[answer]
    assert expected in result.stderr


def test_a_role_whose_login_never_signed_in_is_one_line(world, signin):
    """A [logins.NAME] with no login yet (no AWS profile at all), and an AWS profile without
    login_session: each one line naming what to run; no browser is opened for a login nobody
    made (its identity is the person's to choose)."""
    world.write_toml(LOGIN_TOML + "\n[logins.signedin]\n")
    failure_line(world.run("credential-process", "--profile", "prod-read-only",
                           env={"BROWSER": following_browser(world)}),
                 "login 'signedin' has never signed in (AWS profile 'signedin' has no "
                 "login_session)", "run 'xaccount-credproc login --profile signedin'", code=3)
    assert signin.requests == []
    world.write_toml(LOGIN_TOML)
    world.aws_config.write_text("[profile signedin]\nregion = eu-west-1\n")
    failure_line(world.run("credential-process", "--profile", "prod-read-only"),
                 "source profile 'signedin' has no usable credentials")


# -- doctor --------------------------------------------------------------------------------------


def test_doctor_checks_each_login_and_names_the_policy_when_refused(world, signin):
    login_world(world, signin)
    result = world.run("doctor")
    lines = [line for line in result.stdout.splitlines() if "login 'signedin'" in line]
    assert lines[0].startswith(f"ok    AWS Sign-In login 'signedin': token in {token_path(world)} "
                               "(mode 0600, yours alone)"), lines
    assert lines[1].startswith("ok    AWS Sign-In login 'signedin': P-256 DPoP key; a refresh "
                               f"would be sent to {signin.url}/v1/token with a proof that "
                               "verifies (nothing sent)"), lines
    assert lines[2].startswith(f"ok    AWS Sign-In login 'signedin': STS says {ALICE}"), lines
    assert signin.token_calls() == []
    expire_access(world)
    signin.without_permission.add(ALICE)
    result = world.run("doctor")
    assert result.returncode == 1
    assert ("FAIL  AWS Sign-In login 'signedin': " + ALICE + " may not use console credentials "
            "for the CLI") in result.stdout
    assert "attach the AWS managed policy SignInLocalDevelopmentAccess" in result.stdout
    token_path(world).chmod(0o640)
    result = world.run("doctor")
    assert "FAIL  AWS Sign-In login 'signedin': " in result.stdout
    assert "readable or writable by other users (mode 0640)" in result.stdout
    document = read_token(world)
    for secret in (document["refreshToken"], document["accessToken"]["secretAccessKey"]):
        assert secret not in result.stdout + result.stderr
