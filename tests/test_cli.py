"""The command line: argparse's familiar shape for every command, one-line usage errors, names with
terminal escapes shown escaped, and the exact hot-path form of credential-process parsed without
importing argparse."""

import json

import pytest

from tests.harness.checks import failure_line
from xaccount_credproc.cli import COMMANDS, credential_process


def test_help_names_every_command_and_each_command_has_its_own(world):
    top = world.run("--help")
    assert top.returncode == 0 and top.stdout.startswith("usage: xaccount-credproc ")
    for name in ("credential-process", "init", "add", "remove", "console", "switch-role-url",
                 "exec", "doctor", "list", "clear", "source", "serve", "server-env",
                 "server-revoke", "container-setup", "vault", "completion", "sso"):
        assert f"\n  {name} " in top.stdout
        own = world.run(name, "--help")
        assert own.returncode == 0, own.stderr
        assert own.stdout.startswith(f"usage: xaccount-credproc {name} "), own.stdout
        assert "--config PATH" in own.stdout and "--debug" in own.stdout
    assert len(COMMANDS) == 24


@pytest.mark.parametrize(("argv", "message"), [
    (["bogus"], "argument COMMAND: invalid choice: 'bogus'"),
    ([], "the following arguments are required: COMMAND"),
    (["credential-process"], "one of the arguments --profile --source is required"),
    (["credential-process", "--profile"], "argument --profile: expected one argument"),
    (["credential-process", "--profile", "p", "--nope"], "unrecognized arguments: --nope"),
    (["list", "extra"], "unrecognized arguments: extra"),
    (["console", "--profile", "p", "--session-duration", "long"],
     "argument --session-duration: 'long' is not a whole number of seconds"),
])
def test_usage_errors_are_one_line_with_exit_2(world, argv, message):
    result = world.run(*argv)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr and "see 'xaccount-credproc" in result.stderr


@pytest.mark.parametrize("argv", [
    ["credential-process", "--profile", "prod-read-only"],
    ["credential-process", "--profile=prod-read-only"],
    ["--config", "CONFIG", "credential-process", "--profile", "prod-read-only"],
    ["credential-process", "--config=CONFIG", "--profile", "prod-read-only", "--debug"],
])
def test_the_hot_path_forms_give_the_same_answer_with_and_without_argparse(world, argv):
    world.standard()
    world.use_mfa_process()
    argv = [str(world.toml) if a == "CONFIG" else a.replace("=CONFIG", f"={world.toml}")
            for a in argv]
    fast = credential_process.parse_exactly(argv)
    assert fast is not None and fast.profile == "prod-read-only"
    from xaccount_credproc.cli.parser import parse

    slow, handler = parse(argv)
    assert handler is credential_process.run
    assert (fast.profile, fast.config, fast.debug) == (slow.profile, slow.config, slow.debug)
    result = world.run(*argv)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccountId"] == "222222222222"


@pytest.mark.parametrize("argv", [
    ["credential-process"], ["credential-process", "--profile"], ["--profile", "p",
                                                                  "credential-process"],
    ["credential-process", "--profile", "p", "-h"], ["credential-process", "--profile", "p", "x"],
    ["init"], ["credential-process", "--config=", "--profile", "p"]])
def test_anything_but_the_exact_hot_path_form_goes_to_argparse(argv):
    assert credential_process.parse_exactly(argv) is None


def test_readme_documents_every_command_with_the_options_its_help_shows(world):
    """README's "### `xaccount-credproc NAME …`" heading for every command, and every option a
    heading names is one `NAME --help` knows."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    headings = re.findall(r"^### `xaccount-credproc ([a-z-]+)([^\n]*)$", readme, re.M)
    documented = {}
    for name, rest in headings:
        documented.setdefault(name, "")
        documented[name] += rest
    for module in COMMANDS:
        name = module.replace("_", "-")
        assert name in documented, f"README has no heading for {name}"
        shown = world.run(name, "--help").stdout
        for action in ("source", "vault", "sso", "eks", "shell"):  # options of their actions
            if name == action:                                    # are in each action's help
                shown += "".join(world.run(name, sub, "--help").stdout
                                 for sub in re.findall(r"\b(add|import|rotate|remove|list|init|"
                                                       r"status|lock|passwd|reset|migrate|login|"
                                                       r"logout|kubeconfig|check|prompt)\b",
                                                       documented[name]))
        for option in set(re.findall(r"--[a-z][a-z-]*", documented[name])):
            assert option in shown, f"README names {option} for {name}; --help does not"


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
