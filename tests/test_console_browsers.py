"""Consoles side by side (credentials/browsers.py): a browser profile per AWS profile (the
Chromium family), a Firefox container per profile, and the sign-in URL never on a command line
(only a one-shot local hop is). Recording browsers on PATH show the argv; Debian's headless
Chromium shows two profiles signed in at once, each in its own browser data."""

import os
import shutil
import stat
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness import unavailable
from tests.harness.browsers import locations, recording_browser, started
from tests.harness.checks import failure_line
from tests.harness.federation import FederationEndpoint

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


# -- bad input ---------------------------------------------------------------------------------


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
