"""init, add and remove end to end: the installed console script edits real files, and the real
`aws` CLI then uses what it wrote."""

import json
import os
import random
import signal
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness.setups import run_ok, setup
from tests.harness.world import ASSUMED, EXTERNAL_ID, FAST_START, HELPER, MFA_SERIAL, ROLE_ARN


def test_init_then_the_real_aws_cli_works(world):
    setup(world, "# mine\n[default]\nregion = us-east-1\n")
    result = run_ok(world, "init")
    assert result.stdout.strip() == (f"{world.aws_config}: added 1 (prod-read-only); 0 unchanged")
    text = world.aws_config.read_text()
    assert text.startswith("# mine\n[default]\nregion = us-east-1\n\n[profile prod-read-only]\n")
    assert f"credential_process = {FAST_START} credential-process --profile prod-read-only\n" in text
    identity = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout)["Arn"] == ASSUMED


def test_init_is_idempotent_and_says_so(world):
    setup(world)
    run_ok(world, "init")
    before = world.aws_config.stat()
    result = run_ok(world, "init")
    assert result.stdout.strip() == (f"{world.aws_config} is up to date (1 managed profiles); "
                                     "nothing written")
    assert world.aws_config.stat().st_mtime_ns == before.st_mtime_ns


def test_dry_run_prints_a_diff_and_writes_nothing(world):
    setup(world, "[default]\nregion = us-east-1\n")
    result = run_ok(world, "init", "--dry-run")
    assert result.stdout.startswith(f"--- {world.aws_config} (current)\n+++ {world.aws_config} "
                                    "(after init)\n")
    assert "+[profile prod-read-only]\n" in result.stdout
    assert world.aws_config.read_text() == "[default]\nregion = us-east-1\n"
    assert not (world.aws_dir / "config.bak").exists()


def test_non_default_config_path_is_written_into_the_line(world):
    setup(world)
    moved = world.root / "elsewhere.toml"
    world.toml.rename(moved)
    run_ok(world, "init", "--config", str(moved))
    assert (f"credential_process = {FAST_START} credential-process --config {moved} --profile "
            "prod-read-only") in world.aws_config.read_text()
    identity = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert json.loads(identity.stdout)["Arn"] == ASSUMED


def test_hand_written_profile_is_reported_and_left_alone_without_force(world):
    hand = f"[profile prod-read-only]\nrole_arn = {ROLE_ARN}\nsource_profile = dev\n"
    setup(world, hand)
    result = world.run("init")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"xaccount-credproc: warning: hand-written profile 'prod-read-only' in "
        f"{world.aws_config} has the name of a TOML profile and gets credentials its own way "
        "(role_arn, source_profile), so it was left alone; remove those keys from it, rename one "
        "of them, or replace it with 'xaccount-credproc init --force'")
    assert world.aws_config.read_text() == hand
    run_ok(world, "init", "--force")
    assert "role_arn" not in world.aws_config.read_text()
    assert json.loads(world.aws("sts", "get-caller-identity", "--profile",
                                "prod-read-only").stdout)["Arn"] == ASSUMED


def test_prune_and_stale_warning(world):
    setup(world)
    world.write_toml(world.toml.read_text() + '\n[profiles.old]\nrole_arn = "arn:aws:iam::'
                     '333333333333:role/Old"\nmfa_serial = ""\n')
    run_ok(world, "init")
    world.write_toml(world.toml.read_text().split("\n[profiles.old]")[0])
    result = run_ok(world, "init")
    assert "managed profiles no longer in the TOML config: old; remove them with " in (
        result.stderr)
    assert "[profile old]" in world.aws_config.read_text()
    result = run_ok(world, "init", "--prune")
    assert "removed 1 (old)" in result.stdout
    assert "[profile old]" not in world.aws_config.read_text()


def test_new_file_is_private_existing_mode_is_kept_and_a_backup_is_made(world):
    setup(world)
    world.aws_config.unlink()
    run_ok(world, "init")
    assert stat.S_IMODE(world.aws_config.stat().st_mode) == 0o600
    world.aws_config.chmod(0o640)
    world.write_toml(world.toml.read_text().replace('region = "eu-west-1"',
                                                    'region = "eu-central-1"'))
    first = world.aws_config.read_text()
    run_ok(world, "init")
    assert stat.S_IMODE(world.aws_config.stat().st_mode) == 0o640
    assert (world.aws_dir / "config.bak").read_text() == first
    assert "region = eu-central-1" in world.aws_config.read_text()


def test_a_symlinked_config_is_written_through(world):
    setup(world, "[default]\n")
    dotfiles = world.root / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "aws-config"
    world.aws_config.rename(target)
    world.aws_config.symlink_to(target)
    run_ok(world, "init")
    assert world.aws_config.is_symlink()
    assert "[profile prod-read-only]" in target.read_text()


def test_add_writes_through_a_symlinked_toml(world):
    world.standard()
    dotfiles = world.root / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "xaccount-credproc.toml"
    world.toml.rename(target)
    world.toml.symlink_to(target)
    run_ok(world, "add", "extra", "--account-id", "333333333333", "--role-name", "Admin")
    assert world.toml.is_symlink()
    assert "[profiles.extra]" in target.read_text()


def test_init_refuses_a_source_profile_that_is_served_by_the_helper(world):
    text = (f"[profile elsewhere]\ncredential_process = {HELPER} credential-process "
            "--profile x\n")
    setup(world, text)
    world.write_toml(world.toml.read_text().replace('source_profile = "dev"',
                                                    'source_profile = "elsewhere"'))
    result = world.run("init")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        "xaccount-credproc: profile 'prod-read-only': its source_profile 'elsewhere' is an AWS "
        "profile served by xaccount-credproc, which would loop; set source_profile to a profile "
        "with its own credentials (keys, SSO, ...)")
    assert world.aws_config.read_text() == text


def test_bad_toml_writes_nothing(world):
    setup(world, "[default]\n")
    world.write_toml(world.toml.read_text() + 'bogus = 1\n')
    result = world.run("init")
    assert result.returncode == 2 and "unknown key 'bogus'" in result.stderr
    assert world.aws_config.read_text() == "[default]\n"


def test_a_kill_at_any_moment_leaves_the_old_or_the_new_file(world):
    """SIGKILL init at random moments while it rewrites a large config: the file is always one
    of the two complete versions, never torn."""
    setup(world)
    big = "".join(f'\n[profiles.p{i:04d}]\naccount_id = "{100000000000 + i}"\nrole_name = "R"\n'
                  for i in range(1000))
    versions = [world.toml.read_text() + big,
                world.toml.read_text().replace('region = "eu-west-1"',
                                               'region = "eu-north-1"') + big]
    world.write_toml(versions[0])
    run_ok(world, "init")
    complete = {world.aws_config.read_text()}
    world.write_toml(versions[1])
    run_ok(world, "init")
    complete.add(world.aws_config.read_text())
    assert len(complete) == 2
    rng = random.Random(4)
    for attempt in range(30):
        world.write_toml(versions[attempt % 2])
        process = subprocess.Popen([str(HELPER), "init"], env=world.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert world.aws_config.read_text() in complete, f"torn after kill {attempt}"
    run_ok(world, "init")  # a later run succeeds despite leftovers


def test_concurrent_adds_and_inits_serialise_without_lost_updates(world):
    setup(world)
    names = [f"team-{i}" for i in range(8)]

    def add(name):
        return world.run("add", name, "--account-id", "444444444444", "--role-name", name,
                         "--init")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(add, names))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    toml = world.toml.read_text()
    text = world.aws_config.read_text()
    for name in names:
        assert f"[profiles.{name}]" in toml
        assert f"[profile {name}]" in text
    assert "[profile prod-read-only]" in text
    result = run_ok(world, "init")
    assert "is up to date (9 managed profiles)" in result.stdout


def test_add_creates_a_commented_config_and_keeps_comments(world):
    world.standard()
    world.toml.unlink()
    result = run_ok(world, "add", "prod", "--role-arn", ROLE_ARN, "--external-id", EXTERNAL_ID,
                    "--mfa-serial", MFA_SERIAL, "--source-profile", "dev", "--region",
                    "eu-west-1", "--duration-seconds", "7200")
    assert result.stdout.splitlines() == [
        f"created {world.toml}: added profile 'prod'",
        "run 'xaccount-credproc init' to update the AWS config"]
    text = world.toml.read_text()
    assert text.startswith("# xaccount-credproc config")
    world.toml.write_text(text + "# my own note\n")
    run_ok(world, "add", "other", "--account-id", "333333333333", "--role-name", "Admin")
    text = world.toml.read_text()
    assert "# my own note" in text and "[profiles.other]" in text
    assert 'duration_seconds = 7200' in text


@pytest.mark.parametrize(("args", "message"), [
    (["--role-arn", "arn:aws:iam::1:role/X"], "role_arn 'arn:aws:iam::1:role/X' is not an IAM "
                                              "role ARN"),
    (["--role-arn", ROLE_ARN, "--external-id", "x"], "external_id is not valid for STS"),
    (["--role-arn", ROLE_ARN, "--account-id", "222222222222"], "give either --role-arn, or"),
    ([], "give either --role-arn, or --account-id and --role-name"),
    (["--role-arn", ROLE_ARN, "--duration-seconds", "soon"],
     "argument --duration-seconds: 'soon' is not a whole number of seconds"),
])
def test_add_rejects_bad_values_and_writes_nothing(world, args, message):
    world.standard()
    before = world.toml.read_text()
    result = world.run("add", "new", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert world.toml.read_text() == before
    assert sorted(p.name for p in world.toml.parent.iterdir()) == ["config.toml"]


def test_add_refuses_an_existing_profile_and_unsafe_names(world):
    world.standard()
    result = world.run("add", "prod-read-only", "--role-arn", ROLE_ARN)
    assert result.returncode == 2
    assert "profile 'prod-read-only' already exists" in result.stderr
    result = world.run("add", "bad]name", "--role-arn", ROLE_ARN)
    assert result.returncode == 2 and "profile name 'bad]name' is not allowed" in result.stderr


def test_remove_then_init_prunes(world):
    setup(world)
    run_ok(world, "add", "extra", "--account-id", "333333333333", "--role-name", "Admin",
           "--init")
    assert "[profile extra]" in world.aws_config.read_text()
    result = run_ok(world, "remove", "extra", "--init")
    assert "removed 1 (extra)" in result.stdout
    assert "[profile extra]" not in world.aws_config.read_text()
    assert "[profiles.extra]" not in world.toml.read_text()
    result = world.run("remove", "extra")
    assert result.returncode == 2 and "profile 'extra' is not in" in result.stderr


def test_remove_of_an_included_profile_names_the_file_to_edit(world):
    world.standard()
    (world.toml.parent / "team.toml").write_text(
        '[profiles.team]\naccount_id = "444444444444"\nrole_name = "R"\n')
    world.write_toml('include = ["team.toml"]\n' + world.toml.read_text())
    result = world.run("remove", "team")
    assert result.returncode == 2
    assert "profile 'team' is defined in a file that" in result.stderr


def test_help_lists_every_command(world):
    result = run_ok(world, "--help")
    for command in ("credential-process", "init", "add", "remove", "list", "clear"):
        assert f"\n  {command} " in result.stdout
    assert os.path.basename(str(HELPER)) in result.stdout.splitlines()[0]
