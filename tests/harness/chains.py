"""Role chains for the tests: alice -> a hub role -> spoke roles, and an IAM Identity Center
(SSO) profile as the first hop (its portal is tests/harness/sso_portal.py; the `sso` fixture is
in conftest.py)."""

from tests.harness.world import ALICE_ARN, ALICE_KEY, ALICE_SECRET, MFA_SERIAL

HUB = "arn:aws:iam::111111111111:role/Hub"
SPOKES = {f"spoke{i}": f"arn:aws:iam::33333333333{i}:role/Spoke" for i in range(1, 5)}


def hub_and_spokes(world, spokes=("spoke1", "spoke2"), hub_source="dev", extra=""):
    """Alice (IAM user keys, MFA) -> Hub (trusts alice, needs MFA) -> spokes (each trusts only
    the Hub role and needs its own ExternalId). Returns the file that counts MFA codes asked."""
    sts = world.sts
    sts.add_user_key(ALICE_KEY, ALICE_SECRET, ALICE_ARN)
    world.use_listed_codes()
    sts.add_role(HUB, mfa_required=True, trusts=(ALICE_ARN,))
    for name in spokes:
        sts.add_role(SPOKES[name], external_id=f"ext-{name}", trusts=(HUB,))
    world.write_credentials()
    counter = world.root / "mfa-asked"
    text = (f'[defaults]\nregion = "eu-west-1"\nrole_session_name = "alice"\n'
            f'mfa_process = "{world.mfa_process_command(counter)}"\n\n'
            f'[profiles.hub]\nsource_profile = "{hub_source}"\nrole_arn = "{HUB}"\n'
            f'mfa_serial = "{MFA_SERIAL}"\n')
    for name in spokes:
        text += (f'\n[profiles.{name}]\nsource_profile = "hub"\nrole_arn = "{SPOKES[name]}"\n'
                 f'external_id = "ext-{name}"\n')
    world.write_toml(text + extra)
    world.aws_config.write_text(world.aws_config.read_text() if world.aws_config.exists() else "")
    result = world.run("init")
    assert result.returncode == 0, result.stderr
    return counter


SSO_CONFIG = """\
[profile corp-sso]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

"""
