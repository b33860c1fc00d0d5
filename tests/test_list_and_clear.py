"""`list` (cache state and time left, never a secret) and `clear` (one profile, or all), through
the real Secret Service."""

from tests.harness.mfa import counting_mfa, times_asked
from tests.harness.setups import add_admin_profile, helper_json
from tests.harness.world import ADMIN_ROLE_ARN, EXTERNAL_ID, ROLE_ARN


def test_list_shows_cache_state_and_time_left_without_secrets(world):
    world.standard()
    counting_mfa(world)
    add_admin_profile(world)
    world.write_toml(world.toml.read_text() + '\n[profiles.nocache]\nrole_arn = "'
                     f'{ROLE_ARN}"\nexternal_id = "{EXTERNAL_ID}"\ncache = "none"\n')
    doc = helper_json(world)
    result = world.run("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PROFILE", "ROLE", "CACHED", "TIME", "LEFT", "MFA", "CHAIN"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:lines.index("")]}
    assert rows["prod-read-only"][:3] == [ROLE_ARN, "yes", "59m"]
    assert rows["prod-read-only"][-3:] == ["dev", "→", "prod-read-only"]
    assert rows["prod-read-only"][3].startswith("session:11h")
    assert rows["admin"][:3] == [ADMIN_ROLE_ARN, "no", "-"]
    assert rows["admin"][3].startswith("session:11h")  # the MFA session is shared
    assert rows["nocache"][1:4] == ["off", "-", "own-code"]
    assert '  nocache: cache = "none": the MFA session could not be cached' in result.stdout
    for secret in (doc["SecretAccessKey"], doc["SessionToken"], doc["AccessKeyId"]):
        assert secret not in result.stdout + result.stderr


def test_clear_one_profile_then_all(world):
    world.standard()
    counter = counting_mfa(world)
    add_admin_profile(world)
    helper_json(world)
    helper_json(world, "admin")

    def cached():  # not the record of the last MFA code, which clear leaves (90 s at most)
        return [i for i in world.keyring_items() if not i["username"].startswith("mfa-code/")]

    assert len(cached()) == 3
    result = world.run("clear", "admin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("removed 2 cached entries for profile 'admin' "
                                     "(role credentials and MFA sessions)")
    assert len(cached()) == 1
    result = world.run("clear", "--all")
    assert result.stdout.startswith("removed 1 cached entry for all profiles")
    assert cached() == []
    helper_json(world)
    assert times_asked(counter) == 2  # a cleared MFA session means a new code


def test_clear_needs_a_name_or_all(world):
    world.standard()
    for args in (["clear"], ["clear", "admin", "--all"]):
        result = world.run(*args)
        assert result.returncode == 2
        assert result.stderr.strip() == ("xaccount-credproc: name one profile or use --all; "
                                         "e.g. 'xaccount-credproc clear prod'")
    result = world.run("clear", "nope")
    assert result.returncode == 2 and "profile 'nope' is not in" in result.stderr
