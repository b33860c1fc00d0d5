"""`xcp`, the shell function of `shell-init`, in the real bash, zsh and fish: a switch that
checks the profile first and leaves no key in the environment, `use -` and `off`, the prompt's
line, completion, the picker on a pseudo-terminal (typed filter, arrows, Enter, Esc), and
failures that leave the shell's variables as they were."""

import shutil

import pytest

from tests.harness import unavailable
from tests.harness.terminal import Terminal
from tests.harness.world import ADMIN_ROLE_ARN, ASSUMED, ROLE_ARN

AUDIT_ARN = "arn:aws:iam::555555555555:role/Audit"
EXTRA = f"""
[profiles.admin]
role_arn = "{ADMIN_ROLE_ARN}"

[profiles.audit]
role_arn = "{AUDIT_ARN}"

[profiles.broken-mfa]
role_arn = "{ROLE_ARN}"
mfa_process = "/bin/false"
"""

SCRIPT = {
    "bash": """\
eval "$(xaccount-credproc shell-init bash)"
export AWS_ACCESS_KEY_ID=AKIAOLDOLDOLDOLDOLD1 AWS_SECRET_ACCESS_KEY=old AWS_DEFAULT_PROFILE=old
xcp use prod-read-only || exit 9
aws sts get-caller-identity --query Arn --output text
echo "profile=$AWS_PROFILE key=${AWS_ACCESS_KEY_ID-unset} default=${AWS_DEFAULT_PROFILE-unset}"
echo "prompt=$(xcp prompt)"
xcp use nosuch; echo "unknown=$? profile=$AWS_PROFILE"
xcp use broken-mfa; echo "mfa=$? profile=$AWS_PROFILE"
xcp use admin; xcp use -; echo "back=$AWS_PROFILE"
xcp off; echo "off=${AWS_PROFILE-unset}"
xcp use -; echo "again=${AWS_PROFILE-unset}"
xcp list >/dev/null && echo passed-through
""",
    "zsh": """\
eval "$(xaccount-credproc shell-init zsh)"
export AWS_ACCESS_KEY_ID=AKIAOLDOLDOLDOLDOLD1 AWS_SECRET_ACCESS_KEY=old AWS_DEFAULT_PROFILE=old
xcp use prod-read-only || exit 9
aws sts get-caller-identity --query Arn --output text
echo "profile=$AWS_PROFILE key=${AWS_ACCESS_KEY_ID-unset} default=${AWS_DEFAULT_PROFILE-unset}"
echo "prompt=$(xcp prompt)"
xcp use nosuch; echo "unknown=$? profile=$AWS_PROFILE"
xcp use broken-mfa; echo "mfa=$? profile=$AWS_PROFILE"
xcp use admin; xcp use -; echo "back=$AWS_PROFILE"
xcp off; echo "off=${AWS_PROFILE-unset}"
xcp use -; echo "again=${AWS_PROFILE-unset}"
xcp list >/dev/null && echo passed-through
""",
    "fish": """\
xaccount-credproc shell-init fish | source
set -gx AWS_ACCESS_KEY_ID AKIAOLDOLDOLDOLDOLD1; set -gx AWS_SECRET_ACCESS_KEY old
set -gx AWS_DEFAULT_PROFILE old
xcp use prod-read-only; or exit 9
aws sts get-caller-identity --query Arn --output text
set -q AWS_ACCESS_KEY_ID; and set k $AWS_ACCESS_KEY_ID; or set k unset
set -q AWS_DEFAULT_PROFILE; and set d $AWS_DEFAULT_PROFILE; or set d unset
echo "profile=$AWS_PROFILE key=$k default=$d"
echo "prompt="(xcp prompt)
xcp use nosuch; echo "unknown=$status profile=$AWS_PROFILE"
xcp use broken-mfa; echo "mfa=$status profile=$AWS_PROFILE"
xcp use admin; xcp use -; echo "back=$AWS_PROFILE"
xcp off; set -q AWS_PROFILE; and echo "off=$AWS_PROFILE"; or echo "off=unset"
xcp use -; echo "again=$AWS_PROFILE"
xcp list >/dev/null; and echo passed-through
""",
}
ARGV = {"bash": ["--norc", "--noprofile", "-c"], "zsh": ["-f", "-c"],
        "fish": ["--no-config", "-c"]}


def need(shell: str) -> str:
    found = shutil.which(shell)
    if found is None:
        unavailable(f"{shell} is not installed: run scripts/bootstrap.sh")
    return found


@pytest.fixture
def profiles(world):
    world.standard(mfa_required=False)
    world.use_mfa_process()
    world.sts.add_role(ADMIN_ROLE_ARN)
    world.sts.add_role(AUDIT_ARN)
    world.write_toml(world.toml.read_text().replace("mfa_serial = ", "# mfa_serial = ") + EXTRA)
    text = world.toml.read_text().replace('[profiles.broken-mfa]\n', '[profiles.broken-mfa]\n'
                                          'mfa_serial = "arn:aws:iam::111111111111:mfa/alice"\n')
    world.write_toml(text)
    world.aws_config.write_text("")
    assert world.run("init").returncode == 0
    return world


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_xcp_use_switches_the_shell_and_failures_change_nothing(profiles, shell):
    world = profiles
    result = world._run([need(shell), *ARGV[shell], SCRIPT[shell]], None, 120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ASSUMED
    assert lines[1] == "profile=prod-read-only key=unset default=unset"
    assert lines[2].startswith("prompt=prod-read-only ") and lines[2].endswith("m"), lines[2]
    assert lines[3] == "unknown=2 profile=prod-read-only"
    assert lines[4].startswith("mfa=") and lines[4].endswith(" profile=prod-read-only")
    assert lines[4] != "mfa=0 profile=prod-read-only"
    assert lines[5:] == ["back=prod-read-only", "off=unset", "again=prod-read-only",
                         "passed-through"]
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 2, result.stderr  # one line for each failed switch
    assert "profile 'nosuch' is not in" in errors[0]
    assert "broken-mfa" in errors[1] or "mfa_process" in errors[1]


def test_bash_completes_xcp_use_with_profile_names(profiles):
    script = ('eval "$(xaccount-credproc shell-init bash)"\nCOMP_WORDS=(xcp use a)\n'
              'COMP_CWORD=2\n_xcp_complete\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    result = profiles._run([need("bash"), "--norc", "--noprofile", "-c", script], None, 60)
    assert sorted(result.stdout.split()) == ["admin", "audit"], result.stderr


def picker_shell(world, then: str) -> Terminal:
    script = ('eval "$(xaccount-credproc shell-init bash)"\nexport AWS_PROFILE=audit\n'
              f'xcp use\necho "rc=$? profile=$AWS_PROFILE"\n{then}')
    return Terminal([need("bash"), "--norc", "--noprofile", "-c", script], env=world.env)


def test_the_picker_filters_by_account_moves_with_arrows_and_switches_on_enter(profiles):
    world = profiles
    terminal = picker_shell(world, "")
    try:
        terminal.expect("Esc to leave")
        terminal.expect("prod-read-only")
        terminal.type("2222")  # an account id: broken-mfa, then prod-read-only
        terminal.expect(r"> 2222")
        terminal.type("\x1b[B")  # down: prod-read-only (Enter here would take broken-mfa)
        terminal.type("\x1b[B")  # down again: it stays on the last
        terminal.type("\x1b[A")  # up: broken-mfa
        terminal.type("\x1b[B")  # down: prod-read-only
        terminal.type("\r")
        result = terminal.finish()
    finally:
        terminal.proc.kill()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rc=0 profile=prod-read-only"
    assert "\x1b[J" in terminal.screen.decode()  # it cleared what it drew


def test_esc_leaves_the_picker_and_the_shell_as_it_was(profiles):
    world = profiles
    terminal = picker_shell(world, "")
    try:
        terminal.expect("Esc to leave")
        terminal.type("adm")
        terminal.expect("> adm")
        terminal.type("\x1b")
        result = terminal.finish()
    finally:
        terminal.proc.kill()
    assert result.stdout.strip() == "rc=1 profile=audit"
    assert result.stderr.count("\n") == 1 and "left the picker" in result.stderr


def test_the_prompt_line_needs_no_aws_call_and_says_when_nothing_is_cached(profiles):
    world = profiles
    before = len(world.sts.calls)
    result = world.run("shell", "prompt", "--profile", "admin")
    assert result.returncode == 0 and result.stdout == "admin\n", result.stderr
    world.run("credential-process", "--profile", "admin")
    result = world.run("shell", "prompt", "--profile", "admin")
    assert result.stdout.startswith("admin ") and result.stdout.strip().endswith("m")
    assert len([c for c in world.sts.calls if c.action == "AssumeRole"]) == 1
    assert len(world.sts.calls) == before + 1


def test_every_word_typed_must_match_a_name_an_account_or_a_role():
    from xaccount_credproc.shell.picker import matching

    rows = [("prod-read-only", "222222222222", "DevReadOnly"), ("admin", "333333333333",
                                                                "Admin"),
            ("audit", "555555555555", "Audit")]
    assert [r[0] for r in matching(rows, "3333")] == ["admin"]
    assert [r[0] for r in matching(rows, "a  ADM")] == ["admin"]
    assert [r[0] for r in matching(rows, "readonly 2222")] == ["prod-read-only"]
    assert matching(rows, "audit 2222") == []
    assert matching(rows, "") == rows


def test_fish_and_zsh_complete_xcp_use_with_profile_names(profiles):
    fish = profiles._run([need("fish"), "--no-config", "-c",
                          "xaccount-credproc shell-init fish | source; complete -C 'xcp use a'"],
                         None, 60)
    assert sorted(line.split("\t")[0] for line in fish.stdout.splitlines()) == \
        ["admin", "audit"], fish.stderr
    zsh = profiles._run([need("zsh"), "-f", "-c",
                         'eval "$(xaccount-credproc shell-init zsh)"; '
                         'print -l ${(f)"$(_xcp_helper shell names)"}'], None, 60)
    assert {"admin", "audit", "prod-read-only"} <= set(zsh.stdout.split()), zsh.stderr


def test_a_broken_profile_is_one_line_and_the_shell_unchanged(profiles):
    world = profiles
    world.write_toml(world.toml.read_text() + '\n[profiles.typo]\nrole_arn = "not-an-arn"\n')
    script = ('eval "$(xaccount-credproc shell-init bash)"\nexport AWS_PROFILE=admin\n'
              'xcp use typo; echo "rc=$? profile=$AWS_PROFILE"\n')
    result = world._run([need("bash"), "--norc", "--noprofile", "-c", script], None, 60)
    assert result.stdout.strip() == "rc=2 profile=admin"
    assert result.stderr.count("\n") == 1 and "role_arn 'not-an-arn'" in result.stderr
