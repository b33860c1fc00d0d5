"""Profile discovery: `init --from-organization` (moto's Organizations, every page, ACTIVE
accounts only) and `sso sync` (the Identity Center emulator's assignments, kept in step with
--prune), both naming profiles through the one naming function (discovery/naming.py)."""

from tests.harness.checks import failure_line
from tests.harness.identity_center import device_login, signed_in_as, sso_profiles
from tests.harness.setups import run_ok, setup
from tests.harness.world import ALICE_KEY, ALICE_SECRET


def organization(world, names: list[str], suspended: tuple[str, ...] = ()):
    import boto3

    client = boto3.client("organizations", region_name="us-east-1",
                          endpoint_url=world.sts.url, aws_access_key_id=ALICE_KEY,
                          aws_secret_access_key=ALICE_SECRET)
    client.create_organization(FeatureSet="ALL")
    ids = {}
    for name in names:
        status = client.create_account(AccountName=name, Email=f"{abs(hash(name))}@example.com")
        ids[name] = status["CreateAccountStatus"]["AccountId"]
    for name in suspended:
        client.close_account(AccountId=ids[name])
    return ids


def assigned(sso):
    sso.assignments = {"111111111111": ("corp-dev", ["Developer", "ReadOnly"]),
                       "222222222222": ("corp prod", ["Admin"]),
                       "333333333333": ("corp-dev", ["Developer"])}
    sso.page_limit = 2  # every list comes in pages


def test_from_organization_adds_a_profile_per_active_account(world):
    setup(world)
    names = [f"Team {i:02d} Prod" for i in range(23)] + ["Sandbox", "sandbox", "Old"]
    ids = organization(world, names, suspended=("Old",))
    result = run_ok(world, "init", "--from-organization", "--role-name", "ReadOnly",
                    env={"AWS_ENDPOINT_URL": world.sts.url})
    summary = result.stdout.splitlines()[0]
    # moto lists the management account as well.
    assert summary.startswith("organization: 26 active accounts, 26 new profiles")
    text = world.toml.read_text()
    # One naming function for every discovery (discovery/naming.py): case kept, a name that
    # differs from a taken one only in case is taken too.
    assert '[profiles.Team-00-Prod-ReadOnly]' in text
    assert f'account_id = "{ids["Team 00 Prod"]}"' in text
    pairs = [("Sandbox", "sandbox"), ("sandbox", "Sandbox")]
    assert any(f"[profiles.{a}-ReadOnly]" in text and f"[profiles.{b}-ReadOnly-{ids[b]}]" in text
               for a, b in pairs), text
    assert "Old-ReadOnly" not in text
    aws_text = world.aws_config.read_text()
    assert "[profile Team-22-Prod-ReadOnly]" in aws_text  # more than one page of accounts
    # A second run keeps the existing entries and adds nothing.
    again = run_ok(world, "init", "--from-organization", "--role-name", "ReadOnly",
                   env={"AWS_ENDPOINT_URL": world.sts.url})
    assert "26 active accounts, 0 new profiles" in again.stdout
    assert world.toml.read_text() == text


def test_from_organization_name_template_and_errors(world):
    setup(world)
    ids = organization(world, ["Data Lake"])
    run_ok(world, "init", "--from-organization", "--role-name", "Admin", "--name-template",
           "{account_id}-{role}", env={"AWS_ENDPOINT_URL": world.sts.url})
    assert f"[profiles.{ids['Data Lake']}-Admin]" in world.toml.read_text()
    result = world.run("init", "--from-organization", "--role-name", "Admin", "--name-template",
                       "{nope}", env={"AWS_ENDPOINT_URL": world.sts.url})
    assert result.returncode == 2, result.stderr
    assert "--name-template '{nope}' is not a usable name template" in result.stderr
    result = world.run("init", "--from-organization")
    assert result.returncode == 2 and "needs --role-name ROLE" in result.stderr
    result = world.run("init", "--role-name", "Admin")
    assert result.returncode == 2 and "go with --from-organization" in result.stderr


def test_from_organization_outside_an_organization(world):
    setup(world)
    world.sts.json_failures["AWSOrganizationsV20161128.ListAccounts"] = (
        400, "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.")
    result = world.run("init", "--from-organization", "--role-name", "Admin",
                       env={"AWS_ENDPOINT_URL": world.sts.url})
    assert result.returncode == 3 and result.stdout == ""
    assert "cannot list the organization's accounts (AWSOrganizationsNotInUseException)" in (
        result.stderr)


def test_sync_adds_a_profile_per_assignment_keeps_hand_made_ones_and_writes_stanzas(world, sso):
    from tests.harness.sso_portal import THROTTLED

    hand_made = ('\n[profiles.corp-prod-Admin]\nsource_profile = "dev"\n'
                 'role_arn = "arn:aws:iam::444444444444:role/Other"\n')
    sso_profiles(world, extra=hand_made)
    device_login(world, sso)
    assigned(sso)
    before = world.toml.read_text()
    sso.answer_next.append(THROTTLED)  # the portal's throttling, retried with backoff
    result = world.run("sso", "sync", "--sso-session", "corp", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "sso-session 'corp': 3 accounts, 4 roles assigned; 2 profiles kept" in result.stdout
    assert ("add 2: corp-prod-Admin-222222222222, corp-dev-Developer"
            in result.stdout), result.stdout
    text = world.toml.read_text()
    assert text.startswith(before)  # hand-made profiles and comments untouched
    assert ('[profiles.corp-prod-Admin-222222222222]\nsso_session = "corp"\n'
            'sso_account_id = "222222222222"\nsso_role_name = "Admin"\nsso_synced = true\n') in text
    assert "[profile corp-prod-Admin-222222222222]" in world.aws_config.read_text()
    assert signed_in_as(world, profile="corp-prod-Admin-222222222222") == (
        "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice")
    again = world.run("sso", "sync", "--sso-session", "corp")
    assert "4 profiles kept" in again.stdout and "\nadd " not in again.stdout


def test_sync_prune_removes_exactly_the_synced_profiles_no_longer_assigned(world, sso):
    sso_profiles(world)
    device_login(world, sso)
    assigned(sso)
    assert world.run("sso", "sync", "--sso-session", "corp").returncode == 0
    # Account 333 is gone, and ReadOnly of 111 (whose profile, corp-ro, is hand-made).
    sso.assignments = {"111111111111": ("corp-dev", ["Developer"]),
                       "222222222222": ("corp prod", ["Admin"])}
    dry = world.run("sso", "sync", "--sso-session", "corp", "--prune", "--dry-run")
    assert "would remove 1: corp-dev-Developer" in dry.stdout, dry.stdout
    assert "[profiles.corp-dev-Developer]" in world.toml.read_text()
    result = world.run("sso", "sync", "--sso-session", "corp", "--prune")
    assert result.returncode == 0, result.stderr
    assert "remove 1: corp-dev-Developer" in result.stdout
    text, aws = world.toml.read_text(), world.aws_config.read_text()
    assert "corp-dev-Developer" not in text + aws
    assert "[profiles.corp-ro]" in text and "[profile corp-ro]" in aws


def test_sync_dry_run_writes_nothing(world, sso):
    sso_profiles(world)
    device_login(world, sso)
    assigned(sso)
    before = (world.toml.read_bytes(), world.aws_config.read_bytes())
    result = world.run("sso", "sync", "--sso-session", "corp", "--dry-run",
                       "--template", "{session}-{account_id}-{role_name}")
    assert result.returncode == 0, result.stderr
    assert "would add 2: corp-222222222222-Admin, corp-333333333333-Developer" in result.stdout
    assert (world.toml.read_bytes(), world.aws_config.read_bytes()) == before


def test_sync_with_a_bad_template_is_one_line(world, sso):
    sso_profiles(world)
    result = world.run("sso", "sync", "--sso-session", "corp", "--name-template", "{acount}")
    failure_line(result, "--name-template '{acount}' is not a usable name template", code=2)
    # --template, as sso sync called it before, is still taken.
    result = world.run("sso", "sync", "--sso-session", "corp", "--template", "{acount}")
    failure_line(result, "--name-template '{acount}' is not a usable name template", code=2)
    assert sso.requests == []
