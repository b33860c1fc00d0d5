"""IAM Identity Center built in: `sso login` (device code and PKCE), the token in the AWS CLI's
own file, renewal without a person, `sso status` and `sso logout`, and its roles as profiles;
through the real aws CLI and botocore against the Identity Center emulator
(tests/harness/sso_portal.py). `sso sync` is test_discovery.py."""

import hashlib
import json
import stat
import subprocess
import sys
import time

import pytest

from tests.harness.chains import hub_and_spokes
from tests.harness.checks import failure_line
from tests.harness.identity_center import SSO_TOML, approving, device_login, signed_in_as, sso_profiles
from tests.harness.world import HELPER, MFA_SERIAL

SSO_ROLE = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/alice"


HUB_TRUSTS = "arn:aws:iam::111111111111:role/AWSReservedSSO_Developer_0123456789abcdef"


def token_path(world, name="corp"):
    return world.home / ".aws" / "sso" / "cache" / (hashlib.sha1(name.encode()).hexdigest()
                                                     + ".json")


def secrets_of(world) -> list[str]:
    document = json.loads(token_path(world).read_text())
    return [document[k] for k in ("accessToken", "refreshToken", "clientSecret")]


def sso_chain(world):
    """hub <- corp-sso (botocore's SSO provider reads our token), spokes behind the hub."""
    hub_and_spokes(world, hub_source="corp-sso")
    world.write_toml(world.toml.read_text().replace(f'mfa_serial = "{MFA_SERIAL}"\n', ""))
    world.sts.add_role("arn:aws:iam::111111111111:role/Hub", trusts=(HUB_TRUSTS,))


def expire_in_file(world, seconds_left: float) -> None:
    path = token_path(world)
    document = json.loads(path.read_text())
    document["expiresAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                          time.gmtime(time.time() + seconds_left))
    path.write_text(json.dumps(document))


def stand_in_browser(world, delay: float = 0.0):
    """A program that does what a browser does with the authorize URL: follows its redirect
    back to the loopback listener (after `delay` seconds, as a person takes time)."""
    browser = world.root / "browser"
    browser.write_text(f"#!{sys.executable}\nimport sys, time, urllib.request\n"
                       f"time.sleep({delay})\n"
                       "urllib.request.urlopen(sys.argv[1], timeout=10).read()\n")
    browser.chmod(0o755)
    return str(browser)


def revoked(world, sso):
    """Signed in once; the refresh token since revoked and the access token expired."""
    device_login(world, sso)
    sso_chain(world)
    sso.refresh_tokens.clear()
    sso.expire_access_tokens()
    expire_in_file(world, -60)


def test_a_device_login_writes_the_aws_clis_token_file_and_plain_botocore_uses_it(world, sso):
    result = device_login(world, sso)
    assert "signed in to sso-session 'corp' (https://corp.awsapps.com/start) until" in \
        result.stdout
    assert "confirm the code" in result.stderr
    path = token_path(world)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert {"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
            "registrationExpiresAt", "refreshToken"} <= set(document)
    assert document["expiresAt"].endswith("Z") and document["startUrl"] == sso.start_url
    for secret in secrets_of(world):
        assert secret not in result.stdout + result.stderr
    assert [r["grant"] for r in sso.calls("CreateToken") if r["grant"]][-1] == \
        "urn:ietf:params:oauth:grant-type:device_code"
    # The AWS CLI (botocore's own SSO provider, no helper) signs in with our login...
    assert signed_in_as(world) == SSO_ROLE
    # ...and so does plain boto3.
    code = "import boto3; boto3.Session(profile_name='corp-sso').client('sts').get_caller_identity()"
    assert signed_in_as(world, sys.executable, "-c", code) == SSO_ROLE
    assert [r["role_name"] for r in sso.calls("GetRoleCredentials")] == ["Developer"] * 2


def test_a_second_login_reuses_the_client_registration(world, sso):
    device_login(world, sso)
    device_login(world, sso)
    assert len(sso.calls("RegisterClient")) == 1


def test_a_browser_login_with_pkce_comes_back_to_the_loopback_listener(world, sso):
    """The browser (here a program that follows the authorize page's redirect, as a browser
    does) is opened on the authorize URL; the callback completes the login."""
    browser = world.root / "browser"
    browser.write_text(f"#!{sys.executable}\nimport sys, urllib.request\n"
                       "urllib.request.urlopen(sys.argv[1], timeout=10).read()\n")
    browser.chmod(0o755)
    result = world.run("sso", "login", "--sso-session", "corp", env={"BROWSER": str(browser)},
                       timeout=90)
    assert result.returncode == 0, result.stderr
    assert "Opened the sign-in page of sso-session 'corp' in your browser" in result.stderr
    assert [r["grant"] for r in sso.calls("CreateToken")] == ["authorization_code"]
    registered = sso.clients[json.loads(token_path(world).read_text())["clientId"]]
    assert registered["redirects"] == ["http://127.0.0.1/oauth/callback"]
    for secret in secrets_of(world):
        assert secret not in result.stdout + result.stderr
    assert signed_in_as(world) == SSO_ROLE


def test_another_local_user_cannot_answer_the_callback_in_the_browsers_place(
        world, sso, throwaway_user, public_tmp):
    """The authorize URL (its state, its callback) is on the browser's command line: another
    user who reads it and sends the callback first, with a code of their own (a login CSRF), is
    refused; the user's own browser completes the login, and the command says who was refused."""
    from tests.harness.watcher import Watcher

    with Watcher(throwaway_user, public_tmp / "watcher", world.root) as watcher:
        browser = world.root / "browser"
        browser.write_text(
            f"#!{sys.executable}\nimport os, sys, time, urllib.request\n"
            "deadline = time.monotonic() + 5\n"
            f"while time.monotonic() < deadline and not (os.path.exists({str(watcher.record)!r})"
            f" and open({str(watcher.record)!r}).read().count(chr(10)) >= 3):\n"
            "    time.sleep(0.02)\n"
            "urllib.request.urlopen(sys.argv[1], timeout=10).read()\n")
        browser.chmod(0o755)
        result = world.run("sso", "login", "--sso-session", "corp",
                           env={"BROWSER": str(browser)}, timeout=90)
    assert result.returncode == 0, result.stderr
    forged = [a for a in watcher.attempts() if "code=forged" in a.get("url", "")]
    assert len(forged) == 1 and forged[0]["status"] == 403, (watcher.route, watcher.attempts(),
                                                              watcher.stderr())
    port = forged[0]["url"].split("/")[2]
    at_the_callback = [a for a in watcher.attempts() if a.get("url", "").split("/")[2] == port]
    assert all(a.get("status") == 403 for a in at_the_callback), watcher.attempts()
    assert [r["grant"] for r in sso.calls("CreateToken")] == ["authorization_code"]
    assert (f"warning: local uid {throwaway_user.pw_uid} ({throwaway_user.pw_name}) sent this "
            "sign-in's callback too and was refused" in result.stderr)
    assert signed_in_as(world) == SSO_ROLE


def test_a_real_browser_completes_the_pkce_login(world, sso):
    """Headless Chromium (Debian's) as $BROWSER: it loads the authorize page, follows it back
    to the loopback listener and shows the page that says the window can be closed."""
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
    result = world.run("sso", "login", "--sso-session", "corp", env={"BROWSER": str(browser)},
                       timeout=120)
    assert result.returncode == 0, result.stderr
    assert "You can close this window" in page.read_text()
    assert [r["grant"] for r in sso.calls("CreateToken")] == ["authorization_code"]
    assert signed_in_as(world) == SSO_ROLE


def test_no_browser_prints_the_url_and_the_login_ends_when_it_is_opened(world, sso):
    process = subprocess.Popen([str(HELPER), "sso", "login", "--sso-session", "corp",
                                "--no-browser"], env=world.env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        line = process.stderr.readline()
        assert "Open this URL in a browser on this computer" in line, line
        url = line.rsplit(": ", 1)[1].strip()
        assert url.startswith(sso.url + "/authorize?") and "code_challenge_method=S256" in url
        import urllib.request

        page = urllib.request.urlopen(url, timeout=10).read()
        assert b"You can close this window" in page
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "signed in to sso-session 'corp'" in out


def test_a_browser_that_never_comes_back_is_one_line_within_the_bound(world, sso):
    started = time.monotonic()
    result = world.run("sso", "login", "--sso-session", "corp", "--no-browser",
                       env={"XACCOUNT_CREDPROC_SSO_LOGIN_TIMEOUT": "2"})
    assert time.monotonic() - started < 30
    # The URL to open, then the failure: one line of its own, the last.
    first, last = result.stderr.strip().splitlines()
    assert first.startswith("Open this URL in a browser on this computer")
    assert result.returncode == 3 and result.stdout == "" and "Traceback" not in result.stderr
    assert last.startswith("xaccount-credproc: the browser did not come back to "
                           "http://127.0.0.1:") and "within 2s" in last, last
    assert not token_path(world).exists()


def test_a_device_code_never_approved_is_one_line_within_the_bound(world, sso):
    result = world.run("sso", "login", "--sso-session", "corp", "--use-device-code",
                       "--no-browser", env={"XACCOUNT_CREDPROC_SSO_LOGIN_TIMEOUT": "3"})
    # The code shown to the person is on stderr before the failure: the failure is the last line.
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "xaccount-credproc: the device login of sso-session 'corp' was not approved within 3s; "
        "run it again and approve the code in the browser in time")
    assert "Traceback" not in result.stderr


def test_an_expired_token_is_renewed_without_a_person_once_for_parallel_callers(world, sso):
    device_login(world, sso)
    sso_chain(world)
    before = json.loads(token_path(world).read_text())
    sso.expire_access_tokens()
    expire_in_file(world, -60)
    runs = [subprocess.Popen([str(HELPER), "credential-process", "--profile", "spoke1"],
                             env=world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
            for _ in range(8)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert json.loads(out)["AccessKeyId"].startswith("ASIA")
    refreshes = [r for r in sso.calls("CreateToken") if r["grant"] == "refresh_token"]
    assert len(refreshes) == 1
    after = json.loads(token_path(world).read_text())
    assert after["accessToken"] != before["accessToken"]
    assert after["clientId"] == before["clientId"]
    assert stat.S_IMODE(token_path(world).stat().st_mode) == 0o600
    assert len(world.sts.calls_of("AssumeRole")) == 2  # hub once, spoke1 once


def test_after_botocore_renews_the_token_the_helper_uses_it_and_the_other_way_round(world, sso):
    device_login(world, sso)
    sso_chain(world)
    # Within botocore's 15-minute window: the plain AWS CLI renews it and rewrites the file.
    expire_in_file(world, 10 * 60)
    assert signed_in_as(world) == SSO_ROLE
    assert len([r for r in sso.calls("CreateToken") if r["grant"] == "refresh_token"]) == 1
    renewed = json.loads(token_path(world).read_text())
    assert world.identity("spoke1").endswith("/Spoke/alice")  # no renewal needed
    assert len([r for r in sso.calls("CreateToken") if r["grant"] == "refresh_token"]) == 1
    # Our renewal, then botocore reads what we wrote.
    expire_in_file(world, 60)
    assert world.run("clear", "--all").returncode == 0
    assert world.identity("spoke2").endswith("/Spoke/alice")
    assert len([r for r in sso.calls("CreateToken") if r["grant"] == "refresh_token"]) == 2
    assert json.loads(token_path(world).read_text())["accessToken"] != renewed["accessToken"]
    assert signed_in_as(world) == SSO_ROLE
    assert len([r for r in sso.calls("CreateToken") if r["grant"] == "refresh_token"]) == 2


def test_a_revoked_refresh_token_is_one_line_naming_the_login(world, sso):
    device_login(world, sso)
    sso_chain(world)
    sso.refresh_tokens.clear()  # revoked at Identity Center
    expire_in_file(world, -60)
    result = world.run("credential-process", "--profile", "spoke1")
    line = failure_line(result, code=3, secrets=tuple(secrets_of(world)))
    # Nobody to sign in again here (no terminal, no browser): the cause and the command.
    assert line == ("xaccount-credproc: the IAM Identity Center login of sso-session 'corp' has "
                    "expired or was revoked (InvalidGrantException), and there is no terminal "
                    "or browser here to sign in with; run 'xaccount-credproc sso login "
                    "--sso-session corp' (or 'aws sso login --sso-session corp')")
    assert world.sts.calls_of("AssumeRole") == []


def test_status_and_logout(world, sso):
    before = world.run("sso", "status")
    assert before.returncode == 0 and "corp  https://corp.awsapps.com/start  not signed in" in \
        before.stdout
    device_login(world, sso)
    status = world.run("sso", "status")
    assert status.returncode == 0, status.stderr
    assert "corp  https://corp.awsapps.com/start  signed in until " in status.stdout
    assert "renewed without a person until" in status.stdout
    for secret in secrets_of(world):
        assert secret not in status.stdout + status.stderr
    token = json.loads(token_path(world).read_text())["accessToken"]
    out = world.run("sso", "logout", "--profile", "corp-sso")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "signed out of sso-session 'corp'"
    assert len(sso.calls("Logout")) == 1 and token not in sso.tokens
    assert not token_path(world).exists()
    assert "not signed in" in world.run("sso", "status").stdout
    again = world.run("sso", "logout", "--sso-session", "corp")
    assert again.stdout.strip() == "sso-session 'corp' was not signed in"


def test_an_unknown_session_is_one_line(world, sso):
    result = world.run("sso", "login", "--sso-session", "nope", "--use-device-code")
    failure_line(result, "there is no [sso-session nope] in the AWS config (known: corp)",
                 code=2)


def test_a_start_url_that_is_not_https_is_one_line_and_nothing_is_asked(world, sso):
    world.aws_config.write_text(world.aws_config.read_text().replace(
        "https://corp.awsapps.com/start", "http://corp.awsapps.com/start"))
    result = world.run("sso", "login", "--sso-session", "corp", "--use-device-code")
    failure_line(result, "[sso-session corp]: sso_start_url 'http://corp.awsapps.com/start' is "
                         "not an https URL", code=2)
    assert sso.requests == []


@pytest.mark.parametrize("answer", [
    (500, "text/html", b"<html><body>Internal error</body></html>"),
    (200, "text/html", b"<html><body>Sign in to Hotel Wi-Fi</body></html>"),
])
def test_identity_center_answering_something_else_is_one_line(world, sso, answer):
    sso.answer_next.extend([answer] * 4)  # RegisterClient and its retries
    result = world.run("sso", "login", "--sso-session", "corp", "--use-device-code",
                       "--no-browser")
    line = failure_line(result, code=3)
    assert "RegisterClient" in line and ("proxy" in line or "not an" in line), line
    assert not token_path(world).exists()


def test_a_bad_login_timeout_setting_is_one_line(world, sso):
    result = world.run("sso", "login", "--sso-session", "corp",
                       env={"XACCOUNT_CREDPROC_SSO_LOGIN_TIMEOUT": "soon"})
    failure_line(result, "XACCOUNT_CREDPROC_SSO_LOGIN_TIMEOUT='soon' is not a number", code=2)


def test_the_token_file_is_never_left_half_written_or_readable_by_others(world, sso):
    device_login(world, sso)
    leftovers = [p.name for p in token_path(world).parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []
    assert stat.S_IMODE(token_path(world).stat().st_mode) == 0o600


def test_on_a_terminal_credential_process_signs_in_again_with_a_device_code(world, sso):
    from tests.harness.terminal import Terminal

    revoked(world, sso)
    env = {k: v for k, v in world.env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                           "BROWSER")}
    terminal = Terminal([str(HELPER), "credential-process", "--profile", "spoke1"], env)
    screen = terminal.expect(r"confirm the code (\d{4}-\d{4})")
    import re

    code = re.findall(r"confirm the code (\d{4}-\d{4})", screen)[-1]
    sso.approve(code)
    result = terminal.finish()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    assert [r["grant"] for r in sso.calls("CreateToken")][-2:] == [
        "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
    assert code not in result.stderr  # shown on the terminal, not in what botocore keeps


def test_without_a_terminal_the_browser_login_opens_once_for_8_parallel_callers(world, sso):
    revoked(world, sso)
    env = {**world.env, "BROWSER": stand_in_browser(world, delay=1.0)}
    runs = [subprocess.Popen([str(HELPER), "credential-process", "--profile", "spoke1"],
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
            for _ in range(8)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert json.loads(out)["AccessKeyId"].startswith("ASIA")
    grants = [r["grant"] for r in sso.calls("CreateToken")]
    assert grants.count("authorization_code") == 1, grants
    assert len(sso.calls("Authorize")) == 1


def test_with_nobody_to_ask_it_is_one_line_naming_the_login(world, sso):
    revoked(world, sso)
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": ""}
    result = world.run("credential-process", "--profile", "spoke1", env=env)
    failure_line(result, "the IAM Identity Center login of sso-session 'corp' has expired or "
                         "was revoked (InvalidGrantException), and there is no terminal or "
                         "browser here to sign in with; run 'xaccount-credproc sso login "
                         "--sso-session corp'", code=3)
    assert world.sts.calls_of("AssumeRole") == []


def test_the_server_answers_sso_login_required_at_once_then_serves_after_the_login(world, sso):
    from tests.harness.cred_server import CredServer, get

    revoked(world, sso)
    server = CredServer(world, env={"BROWSER": stand_in_browser(world, delay=3.0)}).start()
    try:
        env = server.client_env("spoke1")
        url, headers = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], {
            "Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
        started = time.monotonic()
        status, body = get(url, headers)
        assert time.monotonic() - started < 1.5
        assert (status, body["code"]) == (503, "SsoLoginRequired"), body
        assert "complete it in the browser that opened" in body["message"]
        deadline = time.monotonic() + 60
        while (status, body.get("code")) != (200, None) and time.monotonic() < deadline:
            time.sleep(0.5)
            status, body = get(url, headers)
        assert status == 200, body
        assert body["AccessKeyId"].startswith("ASIA")
        assert [r["grant"] for r in sso.calls("CreateToken")].count("authorization_code") == 1
    finally:
        server.stop()


def test_a_server_without_a_browser_names_the_command_to_run(world, sso):
    from tests.harness.cred_server import CredServer, get

    revoked(world, sso)
    server = CredServer(world, env={"DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": ""}).start()
    try:
        env = server.client_env("spoke1")
        status, body = get(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                           {"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
        deadline = time.monotonic() + 10
        while body.get("code") == "CredentialsPending" and time.monotonic() < deadline:
            time.sleep(0.3)
            status, body = get(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                               {"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
        assert (status, body["code"]) == (503, "SsoLoginRequired"), body
        assert "'xaccount-credproc sso login --sso-session corp'" in body["message"]
    finally:
        server.stop()


def test_list_and_doctor_show_each_session_and_its_login_never_the_token(world, sso):
    sso_chain(world)
    before = world.run("doctor")
    assert ("warn  IAM Identity Center sso-session 'corp': not signed in; a person will be asked "
            "to sign in on next use; or run 'xaccount-credproc sso login --sso-session corp'"
            ) in before.stdout, before.stdout
    device_login(world, sso)
    listed = world.run("list")
    assert listed.returncode == 0, listed.stderr
    assert "IAM Identity Center sessions:\n  corp  https://corp.awsapps.com/start  signed in " \
           "until " in listed.stdout
    doctor = world.run("doctor")
    assert "ok    IAM Identity Center sso-session 'corp': signed in until " in doctor.stdout
    assert "renewed without a person until " in doctor.stdout
    for secret in secrets_of(world):
        assert secret not in listed.stdout + listed.stderr + doctor.stdout + doctor.stderr


def test_an_identity_center_role_is_a_profile_served_from_the_cache(world, sso):
    sso_profiles(world, aws_config="")
    text = world.aws_config.read_text()
    assert "[sso-session corp]\n# managed by xaccount-credproc" in text
    assert "sso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n" in text
    device_login(world, sso)  # the session init wrote is the one `sso login` reads
    assert signed_in_as(world, profile="corp-dev") == SSO_ROLE
    assert signed_in_as(world, profile="corp-dev") == SSO_ROLE  # a cache hit
    assert signed_in_as(world, profile="corp-ro").split("/")[1] == \
        "AWSReservedSSO_ReadOnly_0123456789abcdef"
    assert [r["role_name"] for r in sso.calls("GetRoleCredentials")] == ["Developer", "ReadOnly"]
    listed = world.run("list")
    assert "corp-dev" in listed.stdout and "sso-session:corp → corp-dev" in listed.stdout


def test_8_parallel_callers_make_one_portal_call(world, sso):
    sso_profiles(world)
    device_login(world, sso)
    runs = [subprocess.Popen([str(HELPER), "credential-process", "--profile", "corp-dev"],
                             env=world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
            for _ in range(8)]
    keys = set()
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        document = json.loads(out)
        assert document["AccountId"] == "111111111111"
        keys.add(document["AccessKeyId"])
    assert len(keys) == 1
    assert len(sso.calls("GetRoleCredentials")) == 1


def test_an_identity_center_role_is_the_first_hop_of_a_chain(world, sso):
    hub = "arn:aws:iam::222222222222:role/Hub"
    world.sts.add_role(hub, trusts=(HUB_TRUSTS,))
    sso_profiles(world, extra=f'\n[profiles.hub]\nsource_profile = "corp-dev"\n'
                              f'role_arn = "{hub}"\n')
    device_login(world, sso)
    assert world.identity("hub") == "arn:aws:sts::222222222222:assumed-role/Hub/alice"
    signed = [world.sts.caller_arn(c.caller) for c in world.sts.calls_of("AssumeRole")]
    assert signed == [SSO_ROLE]
    assert len(sso.calls("GetRoleCredentials")) == 1


def test_the_session_may_be_the_aws_configs_own(world, sso):
    toml = SSO_TOML.replace('[sso-sessions.corp]\nsso_start_url = "https://corp.awsapps.com/'
                            'start"\nsso_region = "eu-west-1"\nsso_registration_scopes = '
                            '["sso:account:access"]\n', "")
    world.write_toml(toml)
    assert world.run("init").returncode == 0
    assert world.aws_config.read_text().count("[sso-session corp]") == 1  # the fixture's own
    device_login(world, sso)
    assert signed_in_as(world, profile="corp-dev") == SSO_ROLE


def test_a_role_no_longer_assigned_is_one_line(world, sso):
    sso_profiles(world)
    device_login(world, sso)
    sso.assignments["111111111111"] = ("corp-dev", ["Developer"])  # ReadOnly taken away
    result = world.run("credential-process", "--profile", "corp-ro")
    failure_line(result, "profile 'corp-ro': role ReadOnly of account 111111111111 is not (or no "
                         "longer) assigned to you in sso-session 'corp'", code=3,
                 secrets=tuple(secrets_of(world)))
    doctor = world.run("doctor")
    assert ("FAIL  IAM Identity Center role ReadOnly of account 111111111111 (profile "
            "'corp-ro'): profile 'corp-ro': role ReadOnly") in doctor.stdout


def test_a_hand_written_session_that_differs_is_left_alone_and_named(world, sso):
    world.write_toml(SSO_TOML.replace("eu-west-1\"\nsso_registration", "us-east-1\"\n"
                                      "sso_registration"))
    before = world.aws_config.read_text()
    result = world.run("init")
    assert "the hand-written [sso-session corp]" in result.stderr and "sso_region" in \
        result.stderr
    assert "[sso-session corp]\nsso_start_url" in world.aws_config.read_text()
    assert world.aws_config.read_text().startswith(before)


@pytest.mark.parametrize(("table", "words"), [
    ('[profiles.bad]\nsso_session = "corp"\nsso_account_id = "111111111111"\n'
     'sso_role_name = "Developer"\nrole_arn = "arn:aws:iam::111111111111:role/X"\n',
     "profile 'bad': is an IAM Identity Center role (sso_account_id, sso_role_name), so role_arn "
     "does not apply"),
    ('[profiles.bad]\nsso_account_id = "111111111111"\nsso_role_name = "Developer"\n',
     "profile 'bad': has sso_account_id, sso_role_name but no sso_session"),
    ('[profiles.bad]\nsso_session = "corp"\nsso_account_id = 111111111111\n'
     'sso_role_name = "Developer"\n', "'sso_account_id' must be a string"),
])
def test_a_wrong_identity_center_profile_is_one_line(world, sso, table, words):
    world.write_toml(SSO_TOML + "\n" + table)
    result = world.run("credential-process", "--profile", "bad")
    failure_line(result, words, code=2)


def test_a_start_url_that_is_not_https_in_the_toml_is_refused_at_load(world, sso):
    world.write_toml(SSO_TOML.replace("https://corp", "http://corp"))
    result = world.run("credential-process", "--profile", "corp-dev")
    failure_line(result, "sso_start_url 'http://corp.awsapps.com/start' is not an https URL",
                 code=2)
    assert sso.requests == []


def test_an_expired_client_registration_is_named_and_a_new_login_registers_again(world, sso):
    device_login(world, sso)
    sso_chain(world)
    path = token_path(world)
    document = json.loads(path.read_text())
    document["registrationExpiresAt"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(document))
    expire_in_file(world, -60)
    result = world.run("credential-process", "--profile", "spoke1",
                       env={"DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": ""})
    failure_line(result, "the client registration of sso-session 'corp' has expired, and there "
                         "is no terminal or browser here to sign in with", code=3)
    device_login(world, sso)
    assert len(sso.calls("RegisterClient")) == 2
    assert world.identity("spoke1").endswith("/Spoke/alice")


def test_sso_login_for_an_identity_center_profile_of_the_toml(world, sso):
    sso_profiles(world, aws_config="")
    approving(sso)
    result = world.run("sso", "login", "--profile", "corp-dev", "--use-device-code",
                       "--no-browser", timeout=90)
    assert result.returncode == 0, result.stderr
    assert "signed in to sso-session 'corp'" in result.stdout
    assert signed_in_as(world, profile="corp-dev") == SSO_ROLE


def test_the_server_serves_as_soon_as_a_login_is_made_another_way(world, sso):
    """The server's browser login is never completed; the person signs in in a terminal
    instead: the server notices the new token within seconds, not after its wait."""
    from tests.harness.cred_server import CredServer, get

    revoked(world, sso)
    never = world.root / "never-browser"
    never.write_text("#!/bin/sh\nexit 0\n")
    never.chmod(0o755)
    server = CredServer(world, env={"BROWSER": str(never)}).start()
    try:
        env = server.client_env("spoke1")
        url, headers = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], {
            "Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
        status, body = get(url, headers)
        assert (status, body["code"]) == (503, "SsoLoginRequired"), body
        device_login(world, sso)
        logged_in = time.monotonic()
        while (status, body.get("code")) != (200, None) and time.monotonic() - logged_in < 20:
            time.sleep(0.5)
            status, body = get(url, headers)
        assert status == 200, body
        assert time.monotonic() - logged_in < 10
        assert "was signed in another way meanwhile" in server.log()
    finally:
        server.stop()
