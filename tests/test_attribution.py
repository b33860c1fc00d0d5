"""Who is behind a role, on AssumeRole: SourceIdentity and session tags reach STS and stay the
same along a chain, are part of the cache key, are checked at load, and a trust policy without
sts:SetSourceIdentity or sts:TagSession is named; list and doctor show them."""

import json
import re

import pytest

HUB = "arn:aws:iam::444444444444:role/Hub"


SPOKE = "arn:aws:iam::555555555555:role/Spoke"


ATTRIBUTED = f"""
[profiles.hub]
role_arn = "{HUB}"
mfa_serial = ""
tags = {{ project = "apollo" }}
transitive_tags = ["team"]

[profiles.spoke]
source_profile = "hub"
role_arn = "{SPOKE}"
mfa_serial = ""
"""


def attributed_world(world, tag_session: bool = True):
    world.standard()
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", '[defaults]\nsource_identity = "{user}"\ntags = { team = "blue" }\n')
        + ATTRIBUTED)
    world.sts.add_role(HUB, set_source_identity=True, tag_session=tag_session)
    world.sts.add_role(SPOKE, trusts=(HUB,), set_source_identity=True, tag_session=tag_session)
    world.write_aws_config("hub", "spoke")
    return world


def tags_sent(call) -> dict:
    tags, index = {}, 1
    while f"Tags.member.{index}.Key" in call.params:
        tags[call.params[f"Tags.member.{index}.Key"]] = call.params[f"Tags.member.{index}.Value"]
        index += 1
    return tags


def test_source_identity_and_tags_reach_sts_and_stay_the_same_along_a_chain(world):
    attributed_world(world)
    assert world.identity("spoke").endswith(":assumed-role/Spoke/alice")
    hub, spoke = world.sts.calls_of("AssumeRole")
    assert hub.params["SourceIdentity"] == "alice"  # "{user}": the login name (LOGNAME)
    assert tags_sent(hub) == {"team": "blue", "project": "apollo"}
    assert hub.params["TransitiveTagKeys.member.1"] == "team"
    # The spoke sends the same source identity, and not the tag the chain carries already.
    assert spoke.params["SourceIdentity"] == "alice"
    assert tags_sent(spoke) == {}
    session = world.sts.keys[json.loads(world.run(
        "credential-process", "--profile", "spoke").stdout)["AccessKeyId"]]
    assert session.source_identity == "alice" and session.tags == {"team": "blue"}
    assert len(world.sts.calls_of("AssumeRole")) == 2  # a cache hit


def test_a_changed_tag_is_another_cache_entry(world):
    attributed_world(world)
    first = json.loads(world.run("credential-process", "--profile", "hub").stdout)
    world.write_toml(world.toml.read_text().replace('project = "apollo"', 'project = "gemini"'))
    second = json.loads(world.run("credential-process", "--profile", "hub").stdout)
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert tags_sent(world.sts.calls_of("AssumeRole")[-1])["project"] == "gemini"


def test_a_trust_policy_without_tag_session_is_named(world):
    attributed_world(world, tag_session=False)
    result = world.run("credential-process", "--profile", "hub")
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr == (
        f"xaccount-credproc: AWS denied AssumeRole on {HUB} for profile 'hub': the role's trust "
        "policy does not allow sts:TagSession, which tags and transitive_tags need; add "
        "sts:TagSession to the actions the trust policy allows your principal, or remove tags "
        "and transitive_tags from the profile\n")


def test_a_trust_policy_without_set_source_identity_is_named(world):
    attributed_world(world)
    world.sts.add_role(HUB, tag_session=True)
    result = world.run("credential-process", "--profile", "hub")
    assert result.returncode == 3
    assert ("the role's trust policy does not allow sts:SetSourceIdentity, which "
            "source_identity need") in result.stderr


def test_list_and_doctor_show_the_attribution(world):
    attributed_world(world)
    listing = world.run("list").stdout
    assert ("  hub: source identity 'alice'; tags project=apollo, team=blue (transitive: team); "
            "its trust policy must allow sts:SetSourceIdentity and sts:TagSession") in listing
    doctor = world.run("doctor").stdout
    assert "attribution of 'spoke': source identity 'alice'; tags team=blue" in doctor


@pytest.mark.parametrize(("toml", "message"), [
    ('source_identity = "aws:me"', r"source_identity 'aws:me' is not valid for STS"),
    ('source_identity = "x"', r"source_identity 'x' is not valid for STS"),
    ('tags = { "aws:team" = "x" }', r"tag name 'aws:team' is not valid for STS"),
    ('tags = { team = 3 }', r"tag 'team' must be a string, not a number"),
    ('tags = { Team = "a", team = "b" }', r"tag 'team' is there twice"),
    ("tags = { " + ", ".join(f"k{i} = 'v'" for i in range(51)) + " }",
     r"tags has 51 tags, more than STS's 50"),
    ('tags = "team=blue"', r"'tags' must be a table"),
    ('transitive_tags = ["nope"]', r"transitive_tags names 'nope', which is not one of its tags"),
])
def test_attribution_settings_are_checked_at_load(world, toml, message):
    world.standard()
    world.write_toml(world.toml.read_text() + toml + "\n")
    result = world.run("credential-process", "--profile", "prod-read-only")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert world.sts.calls == []


def test_a_chain_that_would_change_its_source_identity_or_a_carried_tag_is_refused(world):
    attributed_world(world)
    base = world.toml.read_text()
    world.write_toml(base.replace('[profiles.spoke]\n', '[profiles.spoke]\nsource_identity = '
                                  '"mallory"\n'))
    result = world.run("credential-process", "--profile", "spoke")
    assert result.returncode == 2
    assert ("profile 'spoke': source_identity 'mallory' differs from 'alice' of 'hub' earlier in "
            "its chain, and AWS refuses to change a session's source identity") in result.stderr
    world.write_toml(base.replace('[profiles.spoke]\n', '[profiles.spoke]\ntags = { team = '
                                  '"red" }\n'))
    result = world.run("credential-process", "--profile", "spoke")
    assert result.returncode == 2
    assert "tag 'team' = 'red', but a hop earlier in its chain passes 'team' = 'blue'" in (
        result.stderr)
    assert world.sts.calls == []
