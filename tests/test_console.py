"""`console` and `switch-role-url`: the sign-in URL per partition from a local federation
endpoint, the console's destinations, and where a sign-in opens: the default browser, a browser
profile per AWS profile (the Chromium family), a Firefox container per profile, the URL never
on a command line (only a one-shot local hop is). Recording browsers on PATH show the argv;
Debian's headless Chromium shows two profiles signed in at once, each in its own browser data."""

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness import unavailable
from tests.harness.browsers import locations, recording_browser, started
from tests.harness.checks import failure_line
from tests.harness.federation import FederationEndpoint
from tests.harness.setups import ready
from tests.harness.watcher import Watcher
from tests.harness.world import EXTERNAL_ID, ROLE_ARN
from xaccount_credproc.console import signin as console
from xaccount_credproc.credentials import Credentials
from xaccount_credproc.errors import ConfigError

OTHER_ROLE = "arn:aws:iam::444444444444:role/Auditor"


@pytest.fixture
def federation(sts):
    endpoint = FederationEndpoint(sts)
    yield endpoint
    endpoint.stop()


def two_profiles(world, extra: str = ""):
    """prod-read-only and `auditor`, each its own role, no MFA."""
    world.standard(mfa_required=False)
    world.sts.add_role(OTHER_ROLE, trusts=None)
    text = world.toml.read_text().replace("mfa_serial = ", "# mfa_serial = ")
    world.write_toml(text + f'\n[profiles.auditor]\nrole_arn = "{OTHER_ROLE}"\n{extra}')
    world.aws_config.write_text("")
    assert world.run("init").returncode == 0


def env_with(world, federation, *directories) -> dict:
    path = os.pathsep.join([*(str(d) for d in directories), world.env["PATH"]])
    return {"PATH": path, "XACCOUNT_CREDPROC_FEDERATION_URL": federation.url,
            "XDG_DATA_HOME": str(world.home / ".local" / "share")}


def browser_dir(world, profile: str):
    return world.home / ".local" / "share" / "xaccount-credproc" / "browsers" / profile


def browser_stub(world):
    """A $BROWSER that records its argv and where the local hop it is given redirects."""
    from tests.harness.browsers import recording_browser

    directory, record = recording_browser(world, "browser")
    return {"BROWSER": str(directory / "browser")}, record


def test_the_chromium_family_gets_a_browser_profile_per_aws_profile_and_only_a_local_hop(
        world, federation):
    two_profiles(world)
    directory, record = recording_browser(world, "chromium")
    env = env_with(world, federation, directory)
    for profile in ("prod-read-only", "auditor", "prod-read-only"):
        result = world.run("console", "--profile", profile, "--browser", "chromium", env=env)
        assert result.returncode == 0, result.stderr
        assert "in chromium, in its own browser profile" in result.stdout
    runs = started(record)
    assert [run[1] for run in runs] == [
        f"--user-data-dir={browser_dir(world, 'prod-read-only')}",
        f"--user-data-dir={browser_dir(world, 'auditor')}",
        f"--user-data-dir={browser_dir(world, 'prod-read-only')}"]
    assert all(run[2] == "--new-window" and run[3].startswith("http://127.0.0.1:")
               for run in runs)
    for token in federation.tokens:  # never on a command line
        assert not any(token in arg for run in runs for arg in run)
    assert [parse_qs(urlsplit(url).query)["SigninToken"] for url in locations(record)] == [
        [token] for token in federation.tokens]
    for profile in ("prod-read-only", "auditor"):
        assert stat.S_IMODE(browser_dir(world, profile).stat().st_mode) == 0o700


def test_a_used_hop_answers_nothing_more(world, federation):
    two_profiles(world)
    directory, record = recording_browser(world, "chromium")
    result = world.run("console", "--profile", "auditor", "--browser", "chromium",
                       env=env_with(world, federation, directory))
    assert result.returncode == 0, result.stderr
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.URLError):  # closed (or 404) once used
        urllib.request.urlopen(started(record)[0][-1], timeout=5)


def test_firefox_gets_a_container_per_profile_whose_link_carries_only_the_hop(world, federation):
    two_profiles(world, extra='color = "red"\n')
    directory, record = recording_browser(world, "firefox")
    result = world.run("console", "--profile", "auditor", "--browser", "firefox",
                       env=env_with(world, federation, directory))
    assert result.returncode == 0, result.stderr
    assert "in firefox, in the container 'auditor'" in result.stdout
    ((_, link),) = started(record)
    assert link.startswith("ext+container:")
    query = parse_qs(link[len("ext+container:"):])
    assert query["name"] == ["auditor"] and query["color"] == ["red"]
    assert query["icon"] == ["fingerprint"]
    assert query["url"][0].startswith("http://127.0.0.1:")
    assert federation.tokens[0] not in link
    assert "SigninToken" in locations(record)[0]


def test_the_browser_setting_in_the_toml_and_a_path_with_its_family(world, federation):
    directory, record = recording_browser(world, "my-browser")
    two_profiles(world, extra=f'browser = "{directory / "my-browser"}"\n'
                              'browser_family = "chromium"\n')
    result = world.run("console", "--profile", "auditor",
                       env=env_with(world, federation))
    assert result.returncode == 0, result.stderr
    assert started(record)[0][1] == f"--user-data-dir={browser_dir(world, 'auditor')}"
    doctor = world.run("doctor", env=env_with(world, federation))
    assert f"ok    console browser {directory / 'my-browser'}: " in doctor.stdout


def test_a_real_chromium_keeps_two_profiles_signed_in_side_by_side(world, federation):
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("chromium is not installed: run scripts/bootstrap.sh")
    two_profiles(world)
    wrapper_dir = world.root / "real-browser"
    wrapper_dir.mkdir()
    log = world.root / "chromium-pages"
    finished = world.root / "chromium-finished"
    # Headless, with the arguments console gives (its own --user-data-dir, --new-window, the
    # hop); the page it ends on is written down, then that it finished (console returns once
    # the hop is followed, not when the browser exits).
    (wrapper_dir / "chromium").write_text(
        f'#!/bin/sh\n{chromium} --headless=new --no-sandbox --disable-gpu '
        f'--password-store=basic --dump-dom "$@" >> {log} 2>/dev/null\necho >> {finished}\n')
    (wrapper_dir / "chromium").chmod(0o755)
    env = env_with(world, federation, wrapper_dir)

    def signed_in_as(profile: str) -> str:
        """What the console origin says, asked through the profile's own browser data."""
        page = subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--password-store=basic",
             f"--user-data-dir={browser_dir(world, profile)}", "--dump-dom", federation.console],
            capture_output=True, text=True, timeout=120).stdout
        return page.split("signed in as ")[1].split("<")[0]

    def browser_runs_finished(count: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if finished.exists() and finished.read_text().count("\n") >= count:
                return
            time.sleep(0.2)
        raise AssertionError(f"the browser did not finish its run {count}")

    for number, profile in enumerate(("prod-read-only", "auditor"), 1):
        result = world.run("console", "--profile", profile, "--browser", "chromium", env=env,
                           timeout=120)
        assert result.returncode == 0, result.stderr
        browser_runs_finished(number)
    assert log.read_text().count("signed in as arn:aws:sts::") == 2
    assert signed_in_as("prod-read-only").startswith(
        "arn:aws:sts::222222222222:assumed-role/DevReadOnly-CrossAccount/")
    assert signed_in_as("auditor").startswith("arn:aws:sts::444444444444:assumed-role/Auditor/")
    # Opening the first again: still the first.
    result = world.run("console", "--profile", "prod-read-only", "--browser", "chromium",
                       env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    browser_runs_finished(3)
    assert signed_in_as("prod-read-only").startswith("arn:aws:sts::222222222222:")
    assert signed_in_as("auditor").startswith("arn:aws:sts::444444444444:")


def test_an_unknown_browser_is_one_line_and_nothing_is_fetched(world, federation):
    two_profiles(world)
    result = world.run("console", "--profile", "auditor", "--browser", "netscape",
                       env=env_with(world, federation))
    failure_line(result, "browser 'netscape' is not one xaccount-credproc knows", code=2)
    assert world.sts.calls_of("AssumeRole") == [] and federation.tokens == []


def test_a_browser_that_is_not_installed_names_what_to_install(world, federation):
    two_profiles(world, extra='browser = "brave"\n')
    result = world.run("console", "--profile", "auditor", env=env_with(world, federation))
    failure_line(result, "browser 'brave' is not installed (none of brave-browser, brave is on "
                         "PATH); install it, or set browser to its path", code=2)
    assert world.sts.calls_of("AssumeRole") == []
    doctor = world.run("doctor", env=env_with(world, federation))
    assert "FAIL  console browser of profile 'auditor': browser 'brave' is not installed" in \
        doctor.stdout


def test_a_path_without_its_family_is_refused_at_load(world, federation):
    two_profiles(world)
    world.write_toml(world.toml.read_text() + 'browser = "/usr/bin/chromium"\n')
    result = world.run("console", "--profile", "auditor", env=env_with(world, federation))
    failure_line(result, "browser /usr/bin/chromium is a path, so its family must be given",
                 code=2)


def test_a_data_dir_that_cannot_be_made_is_one_line_and_nothing_is_fetched(world, federation):
    two_profiles(world)
    directory, _ = recording_browser(world, "chromium")
    blocker = world.root / "not-a-directory"
    blocker.write_text("")  # where the data directory should go: even root cannot make it
    env = {**env_with(world, federation, directory), "XDG_DATA_HOME": str(blocker)}
    result = world.run("console", "--profile", "auditor", "--browser", "chromium", env=env)
    failure_line(result, "cannot create the browser profile directory", code=1)
    assert world.sts.calls_of("AssumeRole") == []


def test_print_still_prints_the_url(world, federation):
    two_profiles(world)
    result = world.run("console", "--profile", "auditor", "--print",
                       env=env_with(world, federation))
    assert result.returncode == 0, result.stderr
    assert "SigninToken=" in result.stdout  # for the person who asked for it


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "a\\b", ""])
def test_a_profile_name_that_is_not_safe_for_a_path_names_no_directory(name, tmp_path,
                                                                       monkeypatch):
    """Profile names are validated at load (letters, digits and _.@+-, not starting with
    punctuation); the browser directory refuses anything else all the same."""
    from xaccount_credproc.console import browsers
    from xaccount_credproc.errors import ConfigError

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="cannot name a browser profile directory"):
        browsers.data_dir(name)
    assert list(tmp_path.iterdir()) == []


def test_console_opens_the_browser_with_a_login_url_for_the_cached_role(world, federation):
    ready(world)
    env, record = browser_stub(world)
    env["XACCOUNT_CREDPROC_FEDERATION_URL"] = federation.url
    result = world.run("console", "--profile", "prod-read-only", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("opened the AWS console for profile 'prod-read-only' in "
                                     "your browser")
    assert result.stderr == ""
    from tests.harness.browsers import locations, started

    # The browser was given a one-shot local hop, never the sign-in URL itself.
    ((_, hop),) = started(record)
    assert hop.startswith("http://127.0.0.1:") and "SigninToken" not in hop
    (opened,) = locations(record)
    url = urlsplit(opened)
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == federation.url
    assert query["Action"] == ["login"]
    assert query["Issuer"] == ["xaccount-credproc"]
    assert query["Destination"] == ["https://console.aws.amazon.com/console/home?region=eu-west-1"]
    assert query["SigninToken"] == federation.tokens
    (request,) = federation.requests
    assert request["matched"] and request["duration"] is None
    assert request["session_keys"] == ["sessionId", "sessionKey", "sessionToken"]
    # The role credentials came from the cache that credential-process uses, under its lock.
    before = len(world.sts.calls_of("AssumeRole"))
    assert world.run("credential-process", "--profile", "prod-read-only").returncode == 0
    assert len(world.sts.calls_of("AssumeRole")) == before == 1
    assert federation.tokens[0] not in result.stderr


def test_console_print_destination_service_region_and_duration(world, federation):
    ready(world)
    env = {"XACCOUNT_CREDPROC_FEDERATION_URL": federation.url}
    result = world.run("console", "--profile", "prod-read-only", "--print", "--destination",
                       "s3", "--region", "us-east-2", "--session-duration", "7200", env=env)
    assert result.returncode == 0, result.stderr
    query = parse_qs(urlsplit(result.stdout.strip()).query)
    assert query["Destination"] == ["https://console.aws.amazon.com/s3/home?region=us-east-2"]
    assert federation.requests[0]["duration"] == "7200"
    assert result.stderr == ""


def test_console_session_duration_refused_for_a_role_chained_session(world, federation):
    ready(world)
    world.sts.add_role("arn:aws:iam::333333333333:role/Next")
    world.write_toml(world.toml.read_text() + '\n[profiles.chained]\nsource_profile = '
                     '"classic-role"\nrole_arn = "arn:aws:iam::333333333333:role/Next"\n'
                     'external_id = ""\nmfa_serial = ""\n')
    world.aws_config.write_text(world.aws_config.read_text() + (
        f"\n[profile classic-role]\nrole_arn = {ROLE_ARN}\nsource_profile = dev\n"
        f"external_id = {EXTERNAL_ID}\nregion = eu-west-1\n"))
    world.sts.add_role(ROLE_ARN, external_id=EXTERNAL_ID)
    env = {"XACCOUNT_CREDPROC_FEDERATION_URL": federation.url}
    result = world.run("console", "--profile", "chained", "--print", "--session-duration",
                       "3600", env=env)
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.strip() == (
        "xaccount-credproc: the federation endpoint refused --session-duration (HTTP 400): the "
        "role session is role-chained (its source credentials are temporary); run it again "
        "without --session-duration (the console session then lasts as long as the role "
        "credentials)")
    again = world.run("console", "--profile", "chained", "--print", env=env)
    assert again.returncode == 0, again.stderr


def test_console_with_revoked_credentials_says_how_to_recover(world, federation):
    ready(world)
    env = {"XACCOUNT_CREDPROC_FEDERATION_URL": federation.url}
    assert world.run("credential-process", "--profile", "prod-read-only").returncode == 0
    role_key = world.sts.calls_of("GetCallerIdentity") or world.sts.calls_of("AssumeRole")
    for key in list(world.sts.keys.values()):
        if key.kind == "role":
            key.secret = "revoked"
    result = world.run("console", "--profile", "prod-read-only", "--print", env=env)
    assert role_key
    assert result.returncode == 3
    assert "the federation endpoint refused the role credentials (HTTP 400); they may have " \
           "expired or been revoked: run 'xaccount-credproc clear NAME'" in result.stderr


def test_console_unreachable_endpoint_and_bad_destination(world):
    ready(world)
    result = world.run("console", "--profile", "prod-read-only", "--print",
                       env={"XACCOUNT_CREDPROC_FEDERATION_URL": "http://127.0.0.1:9/federation"})
    assert result.returncode == 3
    assert "cannot reach the federation endpoint http://127.0.0.1:9/federation" in result.stderr
    result = world.run("console", "--profile", "prod-read-only", "--print", "--destination",
                       "https://evil.example.com/")
    assert result.returncode == 2
    assert "is not in the aws console (console.aws.amazon.com)" in result.stderr


@pytest.mark.parametrize(("partition", "signin", "console_host"), [
    ("aws", "signin.aws.amazon.com", "console.aws.amazon.com"),
    ("aws-us-gov", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"),
    ("aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn"),
])
def test_login_url_parts_per_partition(partition, signin, console_host, monkeypatch):
    monkeypatch.delenv("XACCOUNT_CREDPROC_FEDERATION_URL", raising=False)
    asked = []

    class Response:
        def __init__(self, url):
            asked.append(url)

        def read(self):
            return b'{"SigninToken": "tok"}'

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

    credentials = Credentials("ASIAX", "secret", "token", 2000000000)
    destination = console.destination_url("ec2", partition, "cn-north-1")
    assert destination == f"https://{console_host}/ec2/home?region=cn-north-1"
    url = console.signin_url(credentials, partition, destination, 3600,
                             opener=lambda u, timeout: Response(u))
    request = urlsplit(asked[0])
    assert request.netloc == signin and request.path == "/federation"
    request_query = parse_qs(request.query)
    assert json.loads(request_query["Session"][0]) == {
        "sessionId": "ASIAX", "sessionKey": "secret", "sessionToken": "token"}
    assert request_query["SessionDuration"] == ["3600"]
    login = urlsplit(url)
    assert login.netloc == signin
    assert parse_qs(login.query) == {"Action": ["login"], "Issuer": ["xaccount-credproc"],
                                     "Destination": [destination], "SigninToken": ["tok"]}
    assert console.destination_url(None, partition, "r-1") == (
        f"https://{console_host}/console/home?region=r-1")


def test_switch_role_url_with_colour_names_hex_and_the_external_id_warning(world):
    world.standard()
    world.write_toml(world.toml.read_text() + '\n[profiles.plain]\naccount_id = "333333333333"\n'
                     'role_name = "team/Admin"\nexternal_id = ""\ndisplay_name = "Plain admin"\n'
                     'color = "#b7ca9d"\n')
    result = world.run("switch-role-url", "--profile", "plain")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip() == (
        "https://signin.aws.amazon.com/switchrole?account=333333333333&roleName=team%2FAdmin"
        "&displayName=Plain%20admin&color=B7CA9D")
    result = world.run("switch-role-url", "--profile", "prod-read-only", "--color", "red",
                       "--display-name", "Prod RO")
    assert result.returncode == 0
    assert result.stdout.strip() == (
        "https://signin.aws.amazon.com/switchrole?account=222222222222&roleName="
        "DevReadOnly-CrossAccount&displayName=Prod%20RO&color=F2B0A9")
    assert "uses an ExternalId, which the console's switch role cannot send" in result.stderr
    result = world.run("switch-role-url", "--profile", "prod-read-only", "--color", "purple")
    assert result.returncode == 2 and "color 'purple' is neither a name" in result.stderr


def test_color_in_the_toml_is_validated():
    with pytest.raises(ConfigError, match="is neither a name"):
        console.color_hex("#12345")
    assert [console.color_hex(c) for c in ("Blue", "99bce3", "#99BCE3")] == ["99BCE3"] * 3


# -- the sign-in reaches the user's own browser and nobody else (#36) ------------------------------


@pytest.mark.parametrize("browser", ["chromium", "firefox"])
def test_another_local_user_reading_command_lines_never_gets_the_sign_in(
        world, federation, throwaway_user, public_tmp, browser):
    """Another user polls every command line and fetches every loopback URL in it at once,
    while the browser takes its time to start: that user is refused, the user's own browser
    gets the sign-in, and console says both (exit 1: someone tried)."""
    two_profiles(world)
    with Watcher(throwaway_user, public_tmp / "watcher", world.root) as watcher:
        directory, record = recording_browser(world, browser, delay=5, wait_for=watcher.record)
        result = world.run("console", "--profile", "prod-read-only", "--browser", browser,
                           env=env_with(world, federation, directory))
    attempts = watcher.attempts()
    assert attempts, f"the other user never saw the hop ({watcher.route}) {watcher.stderr()}"
    assert all(a.get("status") == 403 for a in attempts), attempts
    assert "SigninToken" not in json.dumps(attempts)
    (location,) = locations(record)
    assert "SigninToken=" in location  # the user's own browser got the sign-in
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("opened the AWS console for profile 'prod-read-only' in "
                                    f"{browser}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"xaccount-credproc: local uid {throwaway_user.pw_uid} ({throwaway_user.pw_name}) "
        "asked for this sign-in too and was refused (only your own browser is answered); "
        "someone on this machine reads other users' command lines: tell its administrator"]
    assert "SigninToken" not in result.stderr


def test_with_debug_console_says_what_it_refused(world, federation, throwaway_user, public_tmp):
    two_profiles(world)
    with Watcher(throwaway_user, public_tmp / "watcher", world.root) as watcher:
        directory, record = recording_browser(world, "chromium", delay=5,
                                              wait_for=watcher.record)
        result = world.run("--debug", "console", "--profile", "auditor", "--browser",
                           "chromium", env=env_with(world, federation, directory))
    assert result.returncode == 1
    assert (f"console hop: refused a connection from uid {throwaway_user.pw_uid}"
            in result.stderr)
    assert federation.tokens and not any(token in result.stderr for token in federation.tokens)


def test_when_only_another_user_asks_the_hand_off_fails_naming_them(
        tmp_path, monkeypatch, throwaway_user, public_tmp):
    """A browser that never comes: after the bound, one line naming who was refused."""
    from tests.harness.watcher import Watcher as Watching
    from xaccount_credproc.console import browsers
    from xaccount_credproc.errors import UserError

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    never = tmp_path / "never-browser"
    never.write_text("#!/bin/sh\nsleep 8\n")  # started, and never opens anything
    never.chmod(0o755)
    with Watching(throwaway_user, public_tmp / "watcher", tmp_path) as watcher, \
            pytest.raises(UserError) as failed:
        browsers.open_console("prod-read-only", "https://signin.example/?SigninToken=x",
                              browsers.Browser("chromium", str(never), "chromium"), None, wait=4)
    assert str(failed.value) == (
        f"your browser did not take the sign-in within 4s; meanwhile local uid "
        f"{throwaway_user.pw_uid} ({throwaway_user.pw_name}) asked for it and was refused (only "
        "your own browser is answered); check that it started; or use 'console --print' and "
        "open the URL yourself")
    assert [a["status"] for a in watcher.attempts()] == [403]


def test_where_the_owner_cannot_be_told_the_browser_gets_a_private_page(tmp_path, monkeypatch):
    """The fallback (macOS, Windows): a page only this user can read, which says it was read
    and goes on to the sign-in URL; gone afterwards. Firefox's link takes a URL: refused."""
    import pathlib
    import re

    from xaccount_credproc.console import browsers
    from xaccount_credproc.errors import UserError

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    seen = tmp_path / "seen"
    reader = tmp_path / "reader"
    reader.write_text(
        f"#!{sys.executable}\nimport os, re, stat, sys, urllib.parse, urllib.request\n"
        "path = urllib.parse.urlsplit(sys.argv[-1]).path\n"
        "st, parent = os.stat(path), os.stat(os.path.dirname(path))\n"
        "page = open(path).read()\n"
        f"open({str(seen)!r}, 'w').write(f'{{st.st_mode & 0o777:o}} "
        "{parent.st_mode & 0o777:o}\\n' + page)\n"
        "urllib.request.urlopen(re.search(r'fetch\\(\"([^\"]+)\"', page).group(1)).read()\n")
    reader.chmod(0o755)
    login = "https://signin.example/federation?Action=login&SigninToken=tok"
    monkeypatch.setenv("BROWSER", str(reader))
    refused = browsers.open_console("p", login, browsers.Browser("default", None, "default"),
                                    None, wait=20, owner_check=False)
    assert refused == ""
    modes, page = seen.read_text().split("\n", 1)
    assert modes == "600 700"
    assert json.dumps(login) in page
    assert re.search(r'fetch\("http://127\.0\.0\.1:\d+/[\w-]{40,}"', page)
    assert list(pathlib.Path(tmp_path / "run").rglob("*.html")) == []  # removed once read
    with pytest.raises(UserError, match="Firefox container link takes only a URL"):
        browsers.open_console("p", login, browsers.Browser("firefox", "/bin/true", "firefox"),
                              None, owner_check=False)

