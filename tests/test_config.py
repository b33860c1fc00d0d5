"""The TOML config: inheritance, role naming, includes, validation with file:line:key, and a
broken profile failing alone (a source_profile cycle, a 6-deep chain or a bad value leaves the
others working through the real aws CLI; init lists every broken one with its line)."""

import json

import pytest

from tests.harness.checks import failure_line
from tests.harness.setups import broken_world
from tests.harness.world import ROLE_ARN
from xaccount_credproc.config import loader as config
from xaccount_credproc.config import rules
from xaccount_credproc.errors import ConfigError, ProfileNotFound


def load(tmp_path, text, name="config.toml"):
    path = tmp_path / name
    path.write_text(text)
    return config.load(path)


def error_of(tmp_path, text) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value)


TYPO_LINE = 'duration_seconds = "3600"'


LOOP_LINE = 'source_profile = "loop-b"'


def line_of(world, text: str) -> int:
    return world.toml.read_text().splitlines().index(text) + 1


def test_profile_inherits_defaults_and_overrides(tmp_path):
    cfg = load(tmp_path, """
[defaults]
source_profile = "dev"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
region = "eu-west-1"
duration_seconds = 7200

[profiles.a]
role_arn = "arn:aws:iam::222222222222:role/A"
external_id = "ext-1"

[profiles.b]
role_arn = "arn:aws:iam::222222222222:role/B"
region = "us-east-2"
mfa_serial = ""
""")
    a, b = cfg.resolve("a"), cfg.resolve("b")
    assert (a.source_profile, a.region, a.duration_seconds) == ("dev", "eu-west-1", 7200)
    assert a.mfa_serial == "arn:aws:iam::111111111111:mfa/alice"
    assert a.external_id == "ext-1"
    assert b.region == "us-east-2"
    assert b.mfa_serial is None  # an empty string clears the inherited value
    assert b.external_id is None


def test_account_id_and_role_name_build_the_arn_in_the_region_partition(tmp_path):
    cfg = load(tmp_path, """
[defaults]
role_name = "ReadOnly"
[profiles.commercial]
account_id = "012345678901"
[profiles.china]
account_id = "012345678901"
region = "cn-north-1"
[profiles.gov]
account_id = "012345678901"
role_name = "team/Admin"
region = "us-gov-west-1"
""")
    assert cfg.resolve("commercial").role_arn == "arn:aws:iam::012345678901:role/ReadOnly"
    assert cfg.resolve("china").role_arn == "arn:aws-cn:iam::012345678901:role/ReadOnly"
    gov = cfg.resolve("gov")
    assert gov.role_arn == "arn:aws-us-gov:iam::012345678901:role/team/Admin"
    assert (gov.partition, gov.account_id, gov.role_name) == ("aws-us-gov", "012345678901",
                                                               "Admin")


def test_role_arn_in_profile_wins_over_inherited_role_name(tmp_path):
    cfg = load(tmp_path, """
[defaults]
role_name = "ReadOnly"
account_id = "111111111111"
[profiles.x]
role_arn = "arn:aws:iam::222222222222:role/Other"
""")
    assert cfg.resolve("x").role_arn == "arn:aws:iam::222222222222:role/Other"


def test_defaults_for_session_name_source_and_duration(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "alice smith")
    p = load(tmp_path, '[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n').resolve("x")
    assert p.role_session_name == "alice-smith"
    assert p.source_profile == "default"
    assert p.duration_seconds == 3600
    assert p.refresh_margin == 1200


def test_session_name_from_a_one_letter_user_is_still_valid(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "a")
    p = load(tmp_path, '[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n').resolve("x")
    assert rules.SESSION_NAME_RE.fullmatch(p.role_session_name)


def test_unknown_profile_lists_known_ones(tmp_path):
    cfg = load(tmp_path, '[profiles.b]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n'
                         '[profiles.a]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n')
    with pytest.raises(ProfileNotFound, match=r"profile 'c' is not in .*known profiles: a, b"):
        cfg.resolve("c")


@pytest.mark.parametrize(("text", "expected"), [
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nexternal_ids = "abc"\n',
     r"config.toml:3: unknown key 'external_ids'"),
    ('[defaults]\nregion = "eu-west-1"\n\n[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"'
     '\nduration_seconds = "3600"\n', r"config.toml:6: 'duration_seconds' must be a whole number"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::22222222222:role/R"\n',
     r"config.toml:2: role_arn .* is not an IAM role ARN"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:user/R"\n', r"is not an IAM role ARN"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nexternal_id = "a"\n',
     r"config.toml:3: external_id is not valid for STS.*2-1224"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nexternal_id = "has space"\n',
     r"external_id is not valid"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nexternal_id = "' + "e" * 1225
     + '"\n', r"external_id is not valid"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nrole_session_name = "' + "s" * 65
     + '"\n', r"role_session_name .* is not valid for STS"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nrole_session_name = "a b"\n',
     r"role_session_name"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nduration_seconds = 899\n',
     r"duration_seconds 899 is out of range; use 900 to 43200"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nduration_seconds = 43201\n',
     r"duration_seconds 43201 is out of range"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nduration_seconds = 900\n',
     r"duration_seconds 900 leaves under 10 minutes .* use duration_seconds >= 1800"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nduration_seconds = true\n',
     r"must be a whole number of seconds, not a boolean"),
    ('[profiles.x]\naccount_id = 222222222222\nrole_name = "R"\n',
     r"config.toml:2: 'account_id' must be a string"),
    ('[profiles.x]\naccount_id = "2222"\nrole_name = "R"\n', r"not a 12-digit AWS account ID"),
    ('[profiles.x]\naccount_id = "222222222222"\n', r"profile 'x': has no role"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\naccount_id = "222222222222"\n',
     r"sets both role_arn and account_id"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nmfa_serial = "arn:aws:iam::1:mfa/a"\n',
     r"mfa_serial .* is not an MFA device ARN"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nregion = "Europe"\n',
     r"region 'Europe' is not an AWS region name"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nmfa_process = "op \'unclosed"\n',
     r"mfa_process cannot be split"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nsource_profile = "x"\n',
     r"is its own source_profile"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\nsource_profile = "a b"\n',
     r"source_profile 'a b' is not allowed"),
    ('[profiles."bad]name"]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n',
     r"config.toml:1: profile name 'bad]name' is not allowed"),
    ('[profiles."-rf"]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n',
     r"profile name '-rf' is not allowed"),
    ('[profiles.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\ncache = "disk"\n',
     r"cache 'disk' is not one of keyring, none"),
    ('[profile.x]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n',
     r"config.toml:1: unknown key 'profile'"),
    ('[profiles.x\nrole_arn = 1\n', r"invalid TOML"),
])
def test_invalid_values_name_file_line_and_key(tmp_path, text, expected):
    message = error_of(tmp_path, text)
    assert __import__("re").search(expected, message), message
    assert "\n" not in message


def test_every_profile_is_validated_on_load(tmp_path):
    message = error_of(tmp_path, '[profiles.good]\nrole_arn = "arn:aws:iam::222222222222:role/R"\n'
                                 '[profiles.bad]\nrole_arn = "nope"\n')
    assert "role_arn 'nope'" in message


def test_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist; create it with 'xaccount-credproc add"):
        config.load(tmp_path / "absent.toml")


def test_includes_merge_in_order_and_the_including_file_wins(tmp_path):
    (tmp_path / "team.toml").write_text("""
[defaults]
source_profile = "team-sso"
region = "eu-west-1"
[profiles.prod]
account_id = "222222222222"
role_name = "Deploy"
external_id = "team-external"
""")
    cfg = load(tmp_path, """
include = ["team.toml"]
[defaults]
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
[profiles.prod]
role_session_name = "alice"
""")
    prod = cfg.resolve("prod")
    assert prod.role_arn == "arn:aws:iam::222222222222:role/Deploy"
    assert prod.source_profile == "team-sso"
    assert prod.mfa_serial == "arn:aws:iam::111111111111:mfa/alice"
    assert prod.role_session_name == "alice"
    assert prod.external_id == "team-external"


def test_include_cycles_and_missing_includes_are_clear_errors(tmp_path):
    (tmp_path / "a.toml").write_text('include = ["b.toml"]\n')
    (tmp_path / "b.toml").write_text('include = ["a.toml"]\n')
    with pytest.raises(ConfigError, match="include cycle: .*a.toml -> .*b.toml -> .*a.toml"):
        config.load(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('include = ["missing.toml"]\n')
    with pytest.raises(ConfigError, match=r"included file .*missing.toml does not exist"):
        config.load(tmp_path / "c.toml")


def test_config_path_precedence(tmp_path, monkeypatch):
    from xaccount_credproc.config import config_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("XACCOUNT_CREDPROC_CONFIG", raising=False)
    assert config_path() == str(tmp_path / "xdg" / "xaccount-credproc" / "config.toml")
    monkeypatch.setenv("XACCOUNT_CREDPROC_CONFIG", str(tmp_path / "env.toml"))
    assert config_path() == str(tmp_path / "env.toml")
    assert config_path(str(tmp_path / "flag.toml")) == str(tmp_path / "flag.toml")


def test_the_european_sovereign_cloud_is_a_partition_of_its_own(tmp_path):
    from xaccount_credproc.console import signin as console

    cfg = load(tmp_path, """
[profiles.sovereign]
account_id = "012345678901"
role_name = "ReadOnly"
region = "eusc-de-east-1"
""")
    profile = cfg.resolve("sovereign")
    assert profile.role_arn == "arn:aws-eusc:iam::012345678901:role/ReadOnly"
    assert profile.partition == "aws-eusc"
    assert console.hosts("aws-eusc") == ("signin.amazonaws-eusc.eu", "console.amazonaws-eusc.eu")
    assert console.destination_url(None, "aws-eusc", "eusc-de-east-1").startswith(
        "https://console.amazonaws-eusc.eu/")


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
