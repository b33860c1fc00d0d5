"""Shell completion through the real shells: bash's own completion machinery (`complete -p`,
COMP_WORDS, the function it names), fish's `complete -C`, and an interactive zsh on a
pseudo-terminal pressing Tab. Profile and source names come from the TOML at each Tab; a broken
TOML completes nothing and prints nothing."""

import os
import pty
import select
import shutil
import subprocess
import time

import pytest

from tests.harness import unavailable
from tests.harness.world import HELPER

TOML = """\
[defaults]
source_profile = "dev"

[profiles.prod-read-only]
role_arn = "arn:aws:iam::222222222222:role/ReadOnly"

[profiles.prod-admin]
role_arn = "arn:aws:iam::222222222222:role/Admin"

[profiles.staging]
role_arn = "arn:aws:iam::333333333333:role/Admin"

[sources.dev]
region = "eu-west-1"
"""

BASH_TAB = """\
eval "$(xaccount-credproc completion bash)"
spec=$(complete -p xaccount-credproc) || exit 3
printf 'spec:%s\\n' "$spec"
fn=$(printf '%s' "$spec" | sed -E 's/.* -F ([^ ]+) .*/\\1/')
read -r -a COMP_WORDS <<< "$LINE"
[ "${LINE: -1}" = " " ] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$LINE"
COMP_POINT=${#COMP_LINE}
"$fn" xaccount-credproc "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf 'reply:%s\\n' "${COMPREPLY[@]}"
"""


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        unavailable(f"{tool} is not installed: run scripts/bootstrap.sh")
    return path


@pytest.fixture
def configured(world):
    world.write_toml(TOML)
    return world


def bash_tab(world, line: str) -> tuple[list[str], subprocess.CompletedProcess]:
    result = world._run([need("bash"), "-c", BASH_TAB], {"LINE": line}, 30)
    assert result.returncode == 0, result.stderr
    assert "spec:complete " in result.stdout and " xaccount-credproc" in result.stdout
    return [x[len("reply:"):].strip() for x in result.stdout.splitlines()
            if x.startswith("reply:") and x[len("reply:"):].strip()], result


def test_bash_completes_commands_options_and_profile_names_from_the_toml(configured):
    world = configured
    names, _ = bash_tab(world, "xaccount-credproc console --profile ")
    assert sorted(names) == ["prod-admin", "prod-read-only", "staging"]
    names, _ = bash_tab(world, "xaccount-credproc exec --profile prod-r")
    assert names == ["prod-read-only"]
    names, _ = bash_tab(world, "xaccount-credproc ser")
    assert sorted(names) == ["serve", "server-env", "server-revoke"]
    names, _ = bash_tab(world, "xaccount-credproc clear ")
    assert "staging" in names
    names, _ = bash_tab(world, "xaccount-credproc source rotate ")
    assert names == ["dev"]
    names, _ = bash_tab(world, "xaccount-credproc console --")
    assert "--profile" in names and "--print" in names
    # A config of the user's choice, named earlier on the line.
    other = world.root / "other.toml"
    other.write_text('[profiles.elsewhere]\nrole_arn = "arn:aws:iam::444444444444:role/X"\n'
                     'source_profile = "dev"\n')
    names, _ = bash_tab(world, f"xaccount-credproc --config {other} console --profile ")
    assert names == ["elsewhere"]


def test_a_broken_toml_completes_nothing_and_prints_nothing(configured):
    world = configured
    world.write_toml(TOML + "[profiles.broken\n")
    names, result = bash_tab(world, "xaccount-credproc console --profile ")
    assert names == []
    assert result.stderr == ""
    world.toml.unlink()
    names, result = bash_tab(world, "xaccount-credproc console --profile ")
    assert names == [] and result.stderr == ""


def test_fish_completes_profile_names(configured):
    world = configured
    fish = need("fish")
    script = ('xaccount-credproc completion fish | source; '
              'complete -C "xaccount-credproc console --profile prod-"')
    result = world._run([fish, "--no-config", "-c", script], None, 30)
    assert result.returncode == 0, result.stderr
    assert sorted(line.split("\t")[0] for line in result.stdout.splitlines()) == [
        "prod-admin", "prod-read-only"]


def test_zsh_completes_profile_names_at_a_real_tab(configured, tmp_path):
    world = configured
    zsh = need("zsh")
    home = tmp_path / "zdot"
    home.mkdir()
    (home / ".zshrc").write_text('autoload -U compinit && compinit -u\n'
                                 'eval "$(xaccount-credproc completion zsh)"\nPS1="ready> "\n')
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(zsh, [zsh, "-i"], {**world.env, "ZDOTDIR": str(home), "TERM": "dumb"})
    screen = b""

    def read_until(marker: bytes, timeout: float = 20) -> None:
        nonlocal screen
        deadline = time.monotonic() + timeout
        while marker not in screen:
            assert time.monotonic() < deadline, screen
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    screen += os.read(fd, 4096)
                except OSError:
                    break

    try:
        read_until(b"ready> ")
        os.write(fd, b"xaccount-credproc console --profile prod-r\t")
        read_until(b"prod-read-only")
        os.write(fd, b"\x15exit\n")
    finally:
        os.close(fd)
        os.waitpid(pid, 0)


def test_the_completion_command_refuses_an_unknown_shell(world):
    result = world.run("completion", "tcsh")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert HELPER.exists()


def test_bash_completes_sso_session_names_from_the_toml_and_the_aws_config(world):
    world.write_toml('[sso-sessions.corp]\nsso_start_url = "https://corp.awsapps.com/start"\n'
                     'sso_region = "eu-west-1"\n')
    world.aws_config.write_text("[sso-session other]\nsso_start_url = https://o.awsapps.com/start"
                                "\nsso_region = eu-west-1\n")
    names, _ = bash_tab(world, "xaccount-credproc sso login --sso-session ")
    assert names == ["corp", "other"]
    names, _ = bash_tab(world, "xaccount-credproc sso sync --sso-session c")
    assert names == ["corp"]
    names, _ = bash_tab(world, "xaccount-credproc sso ")
    assert sorted(names) == ["login", "logout", "status", "sync"]


def test_bash_completes_login_names_from_the_toml_and_the_aws_config(world):
    """A login is a [logins.NAME] of the TOML or an AWS profile with login_session."""
    world.write_toml('[logins.kept]\nstorage = "keyring"\n')
    world.aws_config.write_text("[profile signedin]\nlogin_session = arn:aws:iam::111111111111:"
                                "user/alice\n\n[profile keys]\nregion = eu-west-1\n")
    names, _ = bash_tab(world, "xaccount-credproc login --profile ")
    assert names == ["kept", "signedin"]
    names, _ = bash_tab(world, "xaccount-credproc logout --profile s")
    assert names == ["signedin"]
