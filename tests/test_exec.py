"""`exec`: a real child with the role's identity in its environment (never on a command line), its
exit status and signals passed through, and `--env` for eval."""

import json
import re
import signal
import subprocess

import pytest

from tests.harness.setups import ready
from tests.harness.world import ASSUMED, AWS, HELPER


def default_sigint() -> None:
    """The disposition this test is about: a background job of a non-interactive shell (a CI
    runner, `(scripts/test.sh &)`) starts with SIGINT ignored, which exec rightly passes on, as
    env and nohup do; here the child starts with the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
