"""console, switch-role-url, exec and doctor, end to end against the recording STS server, a local
federation endpoint, a stub browser, real child processes and the real Secret Service."""

import json
import re
import signal
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness.federation import FederationEndpoint
from tests.harness.kernel_keys import refuse_keyctl
from tests.harness.world import (
    ALICE_SECRET,
    AWS,
    EXTERNAL_ID,
    FAST_START,
    HELPER,
    MFA_CODE,
    ROLE_ARN,
)
from xaccount_credproc.console import signin as console
from xaccount_credproc.credentials import Credentials
from xaccount_credproc.errors import ConfigError

ASSUMED = "arn:aws:sts::222222222222:assumed-role/DevReadOnly-CrossAccount/alice"


@pytest.fixture
def federation(sts):
    endpoint = FederationEndpoint(sts)
    yield endpoint
    endpoint.stop()


def ready(world, aws_config: str = "") -> None:
    world.standard()
    world.use_mfa_process()
    world.aws_config.write_text(aws_config)
    result = world.run("init")
    assert result.returncode == 0, result.stderr


def browser_stub(world):
    """A $BROWSER that records its argv and where the local hop it is given redirects."""
    from tests.harness.browsers import recording_browser

    directory, record = recording_browser(world, "browser")
    return {"BROWSER": str(directory / "browser")}, record


# -- console -----------------------------------------------------------------------------------


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


# -- switch-role-url ---------------------------------------------------------------------------


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


# -- exec --------------------------------------------------------------------------------------


def test_exec_runs_a_real_child_with_the_role_identity(world):
    ready(world)
    env = {"AWS_PROFILE": "prod-read-only", "AWS_ACCESS_KEY_ID": "AKIAWRONG",
           "XACCOUNT_CREDPROC_ACTIVE": "x"}
    result = world.run("exec", "--profile", "prod-read-only", "--", str(AWS), "sts",
                       "get-caller-identity", env={**env, "XACCOUNT_CREDPROC_ACTIVE": ""})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED
    child = world.run("exec", "--profile", "prod-read-only", "--", "env",
                      env={"AWS_PROFILE": "other", "AWS_DEFAULT_PROFILE": "other"})
    variables = dict(line.split("=", 1) for line in child.stdout.splitlines() if "=" in line)
    assert "AWS_PROFILE" not in variables and "AWS_DEFAULT_PROFILE" not in variables
    assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", variables["AWS_CREDENTIAL_EXPIRATION"])
    assert variables["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert "XACCOUNT_CREDPROC_ACTIVE" not in variables


@pytest.mark.parametrize("code", [0, 3])
def test_exec_passes_the_exit_status_through(world, code):
    ready(world)
    result = world.run("exec", "--profile", "prod-read-only", "--", "sh", "-c", f"exit {code}")
    assert result.returncode == code


def default_sigint() -> None:
    """The disposition this test is about: a background job of a non-interactive shell (a CI
    runner, `(scripts/test.sh &)`) starts with SIGINT ignored, which exec rightly passes on, as
    env and nohup do; here the child starts with the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_exec_passes_signals_through(world):
    ready(world)
    result = world.run("exec", "--profile", "prod-read-only", "--", "sh", "-c", "kill -INT $$",
                       preexec_fn=default_sigint)
    assert result.returncode == -signal.SIGINT
    shell = subprocess.run(
        ["sh", "-c", f'"{HELPER}" exec --profile prod-read-only -- sh -c "kill -INT \\$\\$"; '
                     'echo "status $?"'], env=world.env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True, timeout=60, preexec_fn=default_sigint)
    assert shell.stdout.strip() == "status 130"


def test_exec_passes_an_ignored_signal_on_as_ignored(world):
    """Started with SIGINT ignored (nohup, a background job), the command keeps it ignored."""
    ready(world)
    result = world.run("exec", "--profile", "prod-read-only", "--", "sh", "-c",
                       "kill -INT $$; echo survived",
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert result.returncode == 0 and result.stdout.strip() == "survived", result.stderr


def test_exec_env_prints_exports_for_eval(world):
    ready(world)
    result = world.run("exec", "--profile", "prod-read-only", "--env")
    assert result.returncode == 0 and result.stderr == ""
    assert "unset AWS_PROFILE\n" in result.stdout
    assert re.search(r"^export AWS_SESSION_TOKEN=", result.stdout, re.M)
    shell = subprocess.run(
        ["sh", "-c", f'eval "$("{HELPER}" exec --profile prod-read-only --env)" && '
                     f'"{AWS}" sts get-caller-identity'],
        env={**world.env, "AWS_PROFILE": "nope"}, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True, timeout=90)
    assert shell.returncode == 0, shell.stderr
    assert json.loads(shell.stdout)["Arn"] == ASSUMED


def test_exec_usage_and_missing_command(world):
    ready(world)
    result = world.run("exec", "--profile", "prod-read-only")
    assert result.returncode == 2 and "give either --env, or -- COMMAND" in result.stderr
    result = world.run("exec", "--profile", "prod-read-only", "--", "no-such-command-xyz")
    assert result.returncode == 1
    assert result.stderr.strip() == ("xaccount-credproc: command not found: no-such-command-xyz; "
                                     "check the name and PATH")


# -- doctor ------------------------------------------------------------------------------------


def doctor(world, **kwargs):
    result = world.run("doctor", **kwargs)
    lines = result.stdout.splitlines()
    return result, lines


def test_doctor_on_a_healthy_setup(world):
    ready(world)
    result, lines = doctor(world)
    assert result.returncode == 0, result.stdout
    assert lines[-1] == "all good"
    # alice's keys sit in ~/.aws/credentials: the one warning, with its fix.
    warnings = [line for line in lines[:-1] if not line.startswith("ok")]
    assert warnings == [f"warn  {world.aws_credentials}: source profile 'dev' keeps long-term "
                        "keys in plain text, readable by every process of yours and every "
                        "backup; move them into the OS keyring: xaccount-credproc source import "
                        "dev"], lines
    text = "\n".join(lines)
    assert "keyring keyring.backends.SecretService.Keyring: unlocked, an entry round-trips" in text
    assert "STS via source profile 'dev'" in text and "user/alice" in text
    assert world.keyring_items() == []  # the test entry was removed again


@pytest.mark.parametrize(("breakage", "message"), [
    ("no-init", "FAIL  AWS config: profile 'prod-read-only' has no managed stanza; run "
                "'xaccount-credproc init'"),
    ("role-arn", "FAIL  AWS config: profile 'prod-read-only' has role_arn, which botocore uses "
                 "instead of credential_process; remove it from the stanza"),
    ("credentials-file", "profile 'prod-read-only' has keys there, which botocore uses instead "
                         "of credential_process"),
    ("not-executable", "runs '/nonexistent/xaccount-credproc', which is not an executable file"),
    ("hand-written", "FAIL  AWS config: profile 'prod-read-only' is hand-written, not managed"),
    ("uninstalled", "gone/__main__.py', which does not exist"),
    ("keyring", "FAIL  keyring: no OS keyring is available"),
    ("sts", "FAIL  STS via source profile 'dev': AWS does not accept the credentials of source "
            "profile 'dev' (InvalidClientTokenId)"),
    ("toml", "FAIL  TOML config: "),
])
def test_doctor_names_each_problem_and_its_fix(world, tmp_path, breakage, message):
    ready(world)
    env, kwargs = {}, {}
    stanza_path = f"{FAST_START} credential-process"
    if breakage == "no-init":
        world.aws_config.write_text("")
    elif breakage == "role-arn":
        world.aws_config.write_text(world.aws_config.read_text() + f"role_arn = {ROLE_ARN}\n")
    elif breakage == "credentials-file":
        world.aws_credentials.write_text(world.aws_credentials.read_text()
                                         + "[prod-read-only]\naws_access_key_id = AKIAX\n"
                                         "aws_secret_access_key = y\n")
    elif breakage == "not-executable":
        world.aws_config.write_text(world.aws_config.read_text().replace(
            stanza_path, "/nonexistent/xaccount-credproc credential-process"))
    elif breakage == "uninstalled":
        world.aws_config.write_text(world.aws_config.read_text().replace(
            "xaccount_credproc/__main__.py", "gone/__main__.py"))
    elif breakage == "hand-written":
        world.aws_config.write_text(f"[profile prod-read-only]\ncredential_process = {stanza_path}"
                                    " --profile prod-read-only\n")
    elif breakage == "keyring":  # no Secret Service, and a kernel that refuses keyctl
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"
        kwargs["preexec_fn"] = refuse_keyctl()
    elif breakage == "sts":
        world.write_credentials("[dev]\naws_access_key_id = AKIAUNKNOWN000000000\n"
                                "aws_secret_access_key = x\n")
    elif breakage == "toml":
        world.write_toml(world.toml.read_text() + "nonsense = 1\n")
    result, lines = doctor(world, env=env, **kwargs)
    assert result.returncode == 1
    assert any(message in line for line in lines), lines
    assert re.fullmatch(r"\d+ problems? found", lines[-1])
    for secret in (ALICE_SECRET, MFA_CODE):
        assert secret not in result.stdout + result.stderr


def test_doctor_warns_when_mfa_needs_a_terminal_that_is_missing(world):
    ready(world)
    world.write_toml(world.toml.read_text().replace(world.mfa_process_line(), ""))
    result, lines = doctor(world)
    assert result.returncode == 0
    assert any(line.startswith("warn  MFA for 'prod-read-only': no prompt would work here "
                               "(mfa_prompt = \"auto\", no terminal, no desktop dialog)")
               for line in lines), lines


def test_exec_puts_credentials_in_the_environment_never_on_a_command_line(world):
    ready(world)
    script = ('tr "\\0" " " < /proc/$$/cmdline; echo; '
              'tr "\\0" "\\n" < /proc/$$/environ | grep "^AWS_SECRET_ACCESS_KEY="')
    result = world.run("exec", "--profile", "prod-read-only", "--", "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    cmdline, environ = result.stdout.splitlines()
    secret = environ.split("=", 1)[1]
    assert len(secret) >= 20
    assert cmdline.strip() == f"sh -c {script}"
    assert secret not in cmdline
