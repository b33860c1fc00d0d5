"""Every client reads the line `init` writes the same way: the AWS CLI v1 (PyPI), the AWS CLI v2
(Debian's `awscli`) and a Go program on the AWS SDK for Go v2 as Debian 12 ships it, built
offline. The helper is installed under a path with a space and a non-ASCII character, and its
config lives under one too, so every word of the line needs quoting."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import required
from tests.harness.world import ASSUMED, AWS_V2, HELPER

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def odd_install(world, tmp_path):
    """The helper installed at '…/Tools (x86) ünï/bin/xaccount-credproc', its config in
    '…/My Configs/config.toml', and `init` run from there, as a user would."""
    world.standard()
    world.use_mfa_process()
    bindir = tmp_path / "Tools (x86) ünï" / "bin"
    bindir.mkdir(parents=True)
    helper = bindir / "xaccount-credproc"
    shutil.copy2(HELPER, helper)  # the console script: its shebang is the project's interpreter
    # The package beside it (a script's own directory comes first on sys.path), so the line
    # `init` writes (`python -S …/xaccount_credproc/__main__.py …`) carries the odd path too.
    shutil.copytree(Path(__file__).resolve().parents[1] / "xaccount_credproc",
                    bindir / "xaccount_credproc", ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "My Configs" / "config.toml"
    config.parent.mkdir()
    shutil.copy2(world.toml, config)
    world.aws_config.write_text("")
    result = subprocess.run([str(helper), "init"], env={**world.env,
                            "XACCOUNT_CREDPROC_CONFIG": str(config)}, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    line = next(x for x in world.aws_config.read_text().splitlines()
                if x.startswith("credential_process"))
    value = line.split("=", 1)[1].strip()
    assert not value.startswith('"') and "#" not in value and ";" not in value, line
    assert str(helper.parent.parent).split("/")[-1] in value  # the odd path itself is used
    assert " -S " in value and value.split(" credential-process")[0].rstrip('"').endswith(
        "__main__.py")
    return helper


def test_aws_cli_v1(world, odd_install):
    result = world.aws("sts", "get-caller-identity", "--profile", "prod-read-only")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED


def test_aws_cli_v2_from_debian(world, odd_install):
    required(AWS_V2, "Debian's awscli (v2)")
    version = subprocess.run([str(AWS_V2), "--version"], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    assert version.startswith("aws-cli/2."), version
    # This CLI predates AWS_ENDPOINT_URL_STS; the helper (boto3) still reads it from the env.
    result = world._run([str(AWS_V2), "sts", "get-caller-identity", "--profile",
                         "prod-read-only", "--endpoint-url", world.sts.url], None, 120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED


def test_go_sdk_v2_from_debian(world, odd_install, go_probe):
    result = world._run([str(go_probe), "prod-read-only"], {"STS_ENDPOINT": world.sts.url}, 120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ASSUMED
    assert len(world.sts.calls_of("AssumeRole")) == 1


def test_all_three_share_one_cached_session(world, odd_install, go_probe):
    required(AWS_V2, "Debian's awscli (v2)")
    for argv, env in (
            ([str(go_probe), "prod-read-only"], {"STS_ENDPOINT": world.sts.url}),
            ([str(AWS_V2), "sts", "get-caller-identity", "--profile", "prod-read-only",
              "--endpoint-url", world.sts.url], None)):
        result = world._run(argv, env, 120)
        assert result.returncode == 0, result.stderr
    assert world.aws("sts", "get-caller-identity", "--profile", "prod-read-only").returncode == 0
    assert len(world.sts.calls_of("AssumeRole")) == 1


def test_the_old_quoted_line_breaks_go_and_doctor_then_init_repair_it(world, odd_install,
                                                                      go_probe, tmp_path):
    config = tmp_path / "My Configs" / "config.toml"
    env = {"XACCOUNT_CREDPROC_CONFIG": str(config)}
    text = world.aws_config.read_text()
    line = next(x for x in text.splitlines() if x.startswith("credential_process"))
    old = ("credential_process = " + " ".join(
        f'"{w}"' if " " in w else w for w in [str(odd_install), "credential-process", "--config",
                                               str(config), "--profile", "prod-read-only"]))
    world.aws_config.write_text(text.replace(line, old))  # as earlier versions wrote it

    broken = world._run([str(go_probe), "prod-read-only"], {"STS_ENDPOINT": world.sts.url}, 120)
    assert broken.returncode != 0  # the Go INI reader kept only the quoted path: no arguments
    doctor = world.run("doctor", env=env)
    assert ("the credential_process line of 'prod-read-only' is misread by some clients: it "
            "starts with a quote") in doctor.stdout, doctor.stdout
    assert doctor.stdout.count("'prod-read-only'") >= 1 and "out of date" not in doctor.stdout

    repaired = world._run([str(odd_install), "init"], env, 60)
    assert repaired.returncode == 0, repaired.stderr
    assert "updated 1 (prod-read-only)" in repaired.stdout
    result = world._run([str(go_probe), "prod-read-only"], {"STS_ENDPOINT": world.sts.url}, 120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ASSUMED
