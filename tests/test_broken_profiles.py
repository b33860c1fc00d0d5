"""A broken profile fails alone: a source_profile cycle, a 6-deep chain or a bad value in one
profile leaves the others working through the real aws CLI, and init and doctor list every
broken profile at once, each with its file and line."""

import json

from tests.harness.world import ROLE_ARN

BROKEN = '''
[profiles.loop-a]
role_arn = "arn:aws:iam::333333333333:role/A"
source_profile = "loop-b"

[profiles.loop-b]
role_arn = "arn:aws:iam::333333333333:role/B"
source_profile = "loop-a"

[profiles.typo]
role_arn = "arn:aws:iam::333333333333:role/T"
duration_seconds = "3600"

[profiles.hop1]
role_arn = "arn:aws:iam::444444444441:role/H"
mfa_serial = ""
duration_seconds = 3600
[profiles.hop2]
role_arn = "arn:aws:iam::444444444442:role/H"
source_profile = "hop1"
[profiles.hop3]
role_arn = "arn:aws:iam::444444444443:role/H"
source_profile = "hop2"
[profiles.hop4]
role_arn = "arn:aws:iam::444444444444:role/H"
source_profile = "hop3"
[profiles.hop5]
role_arn = "arn:aws:iam::444444444445:role/H"
source_profile = "hop4"
[profiles.too-deep]
role_arn = "arn:aws:iam::444444444446:role/H"
source_profile = "hop5"
'''


def broken_world(world):
    world.standard()
    world.use_mfa_process()
    world.write_toml(world.toml.read_text().replace("duration_seconds", "# duration_seconds")
                     + 'duration_seconds = 3600\n' + BROKEN)
    return world


TYPO_LINE = 'duration_seconds = "3600"'
LOOP_LINE = 'source_profile = "loop-b"'


def line_of(world, text: str) -> int:
    return world.toml.read_text().splitlines().index(text) + 1


def test_a_valid_profile_works_while_others_are_broken(world):
    broken_world(world)
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert result.returncode == 0, result.stderr
    assert ":assumed-role/DevReadOnly-CrossAccount/" in json.loads(result.stdout)["Arn"]
    assert world.sts.calls_of("AssumeRole")[0].params["RoleArn"] == ROLE_ARN
    # And the broken one says what is wrong with it, and only it.
    typo = world.run("credential-process", "--profile", "typo")
    assert typo.returncode == 2
    assert typo.stderr.strip() == (
        f"xaccount-credproc: {world.toml}:{line_of(world, TYPO_LINE)}: "
        "'duration_seconds' must be a whole number of seconds, not a string; write it unquoted: "
        "duration_seconds = 3600")


def test_init_lists_every_broken_profile_with_its_line_and_writes_nothing(world):
    broken_world(world)
    before = world.aws_config.read_text()
    result = world.run("init")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 5, lines  # loop-a, loop-b, too-deep, typo, then the summary
    assert lines[-1] == (
        "xaccount-credproc: 4 profiles of the TOML config cannot be used (loop-a, loop-b, "
        "too-deep, typo); fix each as said above, then run 'xaccount-credproc init' again; "
        "the other profiles keep working")
    text = "\n".join(lines)
    assert f"{world.toml}:{line_of(world, LOOP_LINE)}: source_profile " \
           "makes a cycle" in text
    assert "profile 'too-deep' is reached through 6 roles" in text
    assert f"{world.toml}:{line_of(world, TYPO_LINE)}: 'duration_seconds'" \
        in text
    assert world.aws_config.read_text() == before


def test_doctor_lists_every_broken_profile_and_checks_the_rest(world):
    broken_world(world)
    result = world.run("doctor")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL  TOML")]
    assert len(failed) == 4, result.stdout
    assert any("loop-a" in line and "makes a cycle" in line for line in failed)
    assert "STS via source profile 'dev'" in result.stdout  # the valid ones were checked
    listing = world.run("list")
    assert listing.returncode == 0
    assert "prod-read-only" in listing.stdout and "typo" not in listing.stdout
    assert [line.split(":")[2] for line in listing.stderr.splitlines()] == [
        " profile 'loop-a' is not listed", " profile 'loop-b' is not listed",
        " profile 'too-deep' is not listed", " profile 'typo' is not listed"]
