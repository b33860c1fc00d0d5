"""Small defects found by trying the tool from outside, each with its expected line and exit
code: duplicate AWS config sections, a source add that fails half-way, a closed stdin, a signal
at a key prompt, names with terminal escapes, IAM named as IAM, relative paths in variables."""

import json
import os
import signal
import socket
import subprocess
import termios
import threading
import time

import pytest

from tests.harness.checks import failure_line
from tests.harness.terminal import Terminal
from tests.harness.world import ALICE_KEY, ALICE_SECRET, HELPER

# -- the AWS config with the same section twice -------------------------------------------------


def test_duplicate_sections_are_refused_with_both_line_numbers(world):
    world.standard(mfa_required=False)
    text = ("[profile prod-read-only]\nregion = eu-west-1\n\n"
            "[profile other]\nregion = eu-west-1\n\n"
            "[profile prod-read-only]\noutput = json\n")
    world.aws_config.write_text(text)
    result = world.run("init")
    assert result.returncode == 2 and result.stdout == ""
    assert failure_line(result) == (
        f"xaccount-credproc: {world.aws_config} has the same section twice ([profile "
        "prod-read-only] at lines 1, 7), so the AWS CLI cannot read it at all; merge each into "
        "one section, then run 'xaccount-credproc init' again")
    assert world.aws_config.read_text() == text  # nothing written, nothing dropped
    doctor = world.run("doctor")
    assert doctor.returncode == 1
    assert (f"FAIL  AWS config: {world.aws_config} has the same section twice ([profile "
            "prod-read-only] at lines 1, 7)") in doctor.stdout


# -- source add: all or nothing ---------------------------------------------------------------


def test_a_source_add_the_keyring_refuses_leaves_no_declaration(world):
    world.standard(mfa_required=False)
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", '[defaults]\nkeyring_backend = "secret-service"\n'))
    before = world.toml.read_text()
    result = world.run("source", "add", "ops", input=f"{ALICE_KEY}\n{ALICE_SECRET}\n",
                       stdin=None, env={"DBUS_SESSION_BUS_ADDRESS": ""})
    assert result.returncode == 1 and result.stdout == ""
    line = failure_line(result)
    assert line.startswith("xaccount-credproc: cannot store the keys: "), line
    assert world.toml.read_text() == before  # no [sources.ops] left behind
    assert ALICE_SECRET not in result.stderr


def test_a_source_add_under_a_profile_name_stores_nothing(world):
    world.standard(mfa_required=False)
    result = world.run("source", "add", "prod-read-only",
                       input=f"{ALICE_KEY}\n{ALICE_SECRET}\n", stdin=None)
    assert result.returncode == 2
    assert failure_line(result) == (
        f"xaccount-credproc: 'prod-read-only' is a profile in {world.toml}, so it cannot also "
        "name a stored source; choose another name for the source")
    assert [i for i in world.keyring_items() if i["username"].startswith("source/")] == []


def test_source_add_with_stdin_closed_is_one_line(world):
    world.standard(mfa_required=False)
    result = world.run("source", "add", "ops", stdin=subprocess.DEVNULL,
                       preexec_fn=lambda: os.close(0))
    assert result.returncode == 1
    assert failure_line(result) == (
        "xaccount-credproc: stdin is closed, so there are no keys to read; pipe two lines to "
        "stdin (the access key ID, then the secret), or run it in a terminal")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_at_the_key_prompt_is_reported_truthfully(world, signum):
    world.standard(mfa_required=False)
    term = Terminal([str(HELPER), "source", "add", "ops"], world.env)
    term.expect("Secret access key|Access key ID: ")
    term.type(ALICE_KEY + "\n")
    term.expect(r"Secret access key \(not shown\): ")
    term.proc.send_signal(signum)
    result = term_finish_keeping_master(term)
    assert result.returncode == 128 + signum
    assert failure_line(result) == (f"xaccount-credproc: secret access key entry interrupted by "
                                f"{signal.Signals(signum).name}")
    assert "[sources.ops]" not in world.toml.read_text()


def term_finish_keeping_master(term):
    """finish(), after checking on the still-open terminal that echo is back on."""
    stdout, stderr = term.proc.communicate(timeout=30)
    assert termios.tcgetattr(term.master)[3] & termios.ECHO, "echo left off"
    os.close(term.master)
    return subprocess.CompletedProcess(term.proc.args, term.proc.returncode, stdout.decode(),
                                       stderr.decode())


# -- names from the command line reach the terminal escaped ------------------------------------


@pytest.mark.parametrize("command", [["credential-process", "--profile"], ["clear"],
                                     ["console", "--print", "--profile"]])
def test_a_name_with_terminal_escapes_is_shown_escaped(world, command):
    world.standard(mfa_required=False)
    name = "evil\n\x1b[2J\x1b]0;pwned\x07"
    result = world.run(*command, name)
    assert result.returncode == 2
    line = failure_line(result)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    # Not a valid profile name: quoted by its first 8 characters only, escaped.
    assert "there is no profile 'evil\\n\\x1b[2... (19 characters)' in" in line, line


# -- IAM is named as IAM ------------------------------------------------------------------------


def test_a_mute_iam_endpoint_names_iam_and_its_variable(monkeypatch):
    """The real botocore against a socket that accepts and never answers."""
    from xaccount_credproc.credentials.source_session import READ_TIMEOUT, SourceSession
    from xaccount_credproc.credentials.stored.keys import StoredKeys
    from xaccount_credproc.errors import AwsError
    from xaccount_credproc.reentry import REENTRY_ENV

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(listener.accept()) for _ in range(8)],
                     daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # SourceSession marks this process as resolving a source (REENTRY_ENV): undone after the test,
    # or every later test's helper run from this process would see a loop.
    monkeypatch.setenv(REENTRY_ENV, "")
    source = SourceSession("ops", "eu-west-1", "ops",
                       keys=StoredKeys(ALICE_KEY, ALICE_SECRET, "arn:aws:iam::1:user/a"))
    started = time.monotonic()
    with pytest.raises(AwsError) as failed:
        source.call_api("ListAccessKeys", lambda: source.iam().list_access_keys(UserName="a"))
    assert time.monotonic() - started < 4 * READ_TIMEOUT
    assert str(failed.value) == (
        f"{url}/ accepted the connection but did not answer ListAccessKeys within {READ_TIMEOUT}s "
        "(2 tries); IAM or a proxy in between is stuck: try again later, or check the network, "
        "proxy settings and AWS_ENDPOINT_URL_IAM")
    listener.close()


# -- paths in environment variables ---------------------------------------------------------------


@pytest.mark.parametrize("variable", ["XACCOUNT_CREDPROC_CACHE_DIR", "XACCOUNT_CREDPROC_CONFIG"])
def test_a_relative_path_in_a_variable_is_refused(world, variable):
    world.standard()
    world.use_mfa_process()
    result = world.run("credential-process", "--profile", "prod-read-only",
                       env={variable: "cache/here"}, cwd=str(world.root))
    assert result.returncode == 2 and result.stdout == ""
    assert failure_line(result) == (
        f"xaccount-credproc: {variable}='cache/here' is a relative path, which would mean "
        "another place in each directory a command runs from; set it to an absolute path, or "
        "unset it")
    assert not (world.root / "cache").exists()
    assert json.loads(world.run("credential-process", "--profile", "prod-read-only",
                                env={variable: ""}).stdout)["AccessKeyId"]


@pytest.mark.parametrize("name", ["x" * 5000, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"])
def test_an_unknown_profile_name_that_is_not_valid_is_not_echoed_back(world, name):
    """A 5000-character name made a 10 KB line, twice the name; a secret pasted by mistake
    was printed back whole. Only a valid name is quoted whole, and add is suggested only
    for a name it would take."""
    world.standard()
    world.use_mfa_process()
    for args in (["credential-process", "--profile", name], ["remove", name],
                 ["console", "--profile", name, "--print"]):
        result = world.run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and len(result.stderr) < 400, result.stderr
        assert name not in result.stderr and name[:9] not in result.stderr
        assert name[:8] in result.stderr
        assert "xaccount-credproc add" not in result.stderr
        assert "not a valid profile name" in result.stderr


def test_an_unknown_valid_profile_name_is_quoted_with_the_add_suggestion(world):
    world.standard()
    world.use_mfa_process()
    result = world.run("credential-process", "--profile", "prod-writer")
    assert result.returncode == 2
    assert ("profile 'prod-writer' is not in" in result.stderr
            and "add it with 'xaccount-credproc add prod-writer --role-arn ARN'" in result.stderr)
