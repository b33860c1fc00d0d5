"""Role chaining (user -> hub role -> spoke roles) and IAM Identity Center (SSO) as the first hop,
end to end: the real `aws` CLI and boto3, the real Secret Service, the recording STS server (which
enforces the spokes' trust in the hub role alone, the 1-hour limit of chained sessions, and
ExternalId and MFA per hop) and a stand-in for the SSO portal."""

import calendar
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness.chains import HUB, SPOKES, hub_and_spokes
from tests.harness.checks import failure_line
from tests.harness.federation import FederationEndpoint
from tests.harness.mfa import times_asked
from tests.harness.world import ALICE_ARN, MFA_SERIAL, World


def signers(world, action: str) -> list[tuple[str, str]]:
    """(role asked for, who signed the request) of each successful call of `action`."""
    return [(c.params.get("RoleArn", ""), world.sts.caller_arn(c.caller))
            for c in world.sts.calls_of(action) if c.status == 200]


# -- one hub, many spokes, one MFA code --------------------------------------------------------


def test_two_spokes_through_one_hub_with_one_mfa_code_from_the_cli_and_boto3(world):
    counter = hub_and_spokes(world)
    assert world.identity("spoke1") == "arn:aws:sts::333333333331:assumed-role/Spoke/alice"
    boto3 = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.Session(profile_name='spoke2')"
         ".client('sts').get_caller_identity()['Arn'])"],
        env=world.env, capture_output=True, text=True, timeout=120, check=False)
    assert boto3.returncode == 0, boto3.stderr
    assert boto3.stdout.strip() == "arn:aws:sts::333333333332:assumed-role/Spoke/alice"
    assert world.identity("spoke1").endswith("/Spoke/alice")  # a cache hit now

    assert times_asked(counter) == 1
    hub_session = "arn:aws:sts::111111111111:assumed-role/Hub/alice"
    assert signers(world, "GetSessionToken") == [("", ALICE_ARN)]
    assert signers(world, "AssumeRole") == [
        (HUB, ALICE_ARN),  # signed by alice's MFA session (its caller ARN is alice's)
        (SPOKES["spoke1"], hub_session), (SPOKES["spoke2"], hub_session)]
    hub_call, *spoke_calls = world.sts.calls_of("AssumeRole")
    assert world.sts.keys[hub_call.caller].kind == "mfa-session"
    for call, name in zip(spoke_calls, ("spoke1", "spoke2"), strict=True):
        assert call.params["ExternalId"] == f"ext-{name}"  # each hop sends its own
        assert call.params["DurationSeconds"] == "3600"
        assert "TokenCode" not in call.params  # MFA was the hub's hop


def test_32_parallel_commands_over_4_spokes_behind_a_cold_hub(tmp_path, sts):
    # The kernel keyring (no session bus): under the load of 32 CLIs starting at once, a Secret
    # Service can miss its 2-3 s deadlines, and a caller that cannot read the cache fetches
    # again (bounded waits come first); tests/test_keyring_cache.py has the Secret Service case.
    world = World(tmp_path, sts, secret_service=None)
    counter = hub_and_spokes(world, spokes=tuple(SPOKES))
    # Warm the CLI's and SDK's byte-code first, so that the 32 start alike.
    assert world.aws("sts", "get-caller-identity", "--profile", "dev", "--region",
                     "eu-west-1").returncode == 0
    world.sts.delay = 0.5  # hold each fetch so that the others arrive while it runs

    def call(index):
        name = f"spoke{index % 4 + 1}"
        return name, world.aws("sts", "get-caller-identity", "--profile", name, timeout=300)

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(call, range(32)))
    for name, result in results:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["Account"] == SPOKES[name].split(":")[4]
    roles = [role for role, _ in signers(world, "AssumeRole")]
    assert roles.count(HUB) == 1
    assert sorted(r for r in roles if r != HUB) == sorted(SPOKES.values())
    assert len(world.sts.calls_of("GetSessionToken")) == 1
    assert times_asked(counter) == 1


def test_the_emulator_refuses_what_aws_refuses_between_hops(world):
    """The spokes trust only the Hub role, and a chained session may last one hour."""
    hub_and_spokes(world)
    hub = json.loads(world.run("credential-process", "--profile", "hub").stdout)
    code = ("import boto3, json, sys\n"
            "c = json.loads(sys.stdin.read())\n"
            "sts = boto3.client('sts', region_name='eu-west-1', aws_access_key_id=c['AccessKeyId'],"
            " aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])\n"
            "try:\n"
            "    sts.assume_role(RoleArn=sys.argv[1], RoleSessionName='probe', ExternalId=sys.argv[2],"
            " DurationSeconds=int(sys.argv[3]))\n"
            "    print('ok')\n"
            "except Exception as e:\n"
            "    print(e.response['Error']['Code'])\n")

    def assume(credentials, role, external_id, duration):
        result = subprocess.run([sys.executable, "-c", code, role, external_id, str(duration)],
                                input=json.dumps(credentials), env=world.env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert assume(hub, SPOKES["spoke1"], "ext-spoke1", 3600) == "ok"
    assert assume(hub, SPOKES["spoke1"], "ext-spoke1", 7200) == "ValidationError"
    assert assume(hub, SPOKES["spoke1"], "wrong", 3600) == "AccessDenied"
    spoke = json.loads(world.run("credential-process", "--profile", "spoke1").stdout)
    assert assume(spoke, SPOKES["spoke2"], "ext-spoke2", 900) == "AccessDenied"  # not the hub


def test_mfa_at_a_later_hop_goes_on_that_hops_assume_role(world):
    counter = hub_and_spokes(world, extra=f'mfa_serial = "{MFA_SERIAL}"\n')  # on spoke2
    world.sts.add_role(SPOKES["spoke2"], external_id="ext-spoke2", trusts=(HUB,),
                       mfa_required=True)
    assert world.identity("spoke2").endswith("/Spoke/alice")
    hub_call, spoke_call = world.sts.calls_of("AssumeRole")
    assert "TokenCode" not in hub_call.params  # the hub used the MFA session
    assert spoke_call.params["SerialNumber"] == MFA_SERIAL and "TokenCode" in spoke_call.params
    assert times_asked(counter) == 2  # one code for the session, one for spoke2's own hop


# -- freshness across hops ---------------------------------------------------------------------


def test_a_hub_within_its_refresh_margin_is_renewed_before_it_signs_a_spoke(world):
    hub_and_spokes(world)
    world.sts.lifetime = 1100  # under the 1200 s refresh margin
    world.run("credential-process", "--profile", "hub")
    world.sts.lifetime = None
    spoke = json.loads(world.run("credential-process", "--profile", "spoke1").stdout)
    calls = world.sts.calls_of("AssumeRole")
    assert [c.params["RoleArn"] for c in calls] == [HUB, HUB, SPOKES["spoke1"]]
    assert calls[2].caller not in (calls[0].caller, calls[1].caller)
    renewed = [k for k, v in world.sts.keys.items() if v.arn.endswith("assumed-role/Hub/alice")]
    assert calls[2].caller == renewed[-1]  # signed by the renewed hub session
    expires = calendar.timegm(time.strptime(spoke["Expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert expires - time.time() > 3000


def test_a_spoke_session_never_outlives_the_hub_session_that_signed_it(world):
    hub_and_spokes(world)
    world.sts.lifetime = 2000
    hub = json.loads(world.run("credential-process", "--profile", "hub").stdout)
    world.sts.lifetime = None  # the spoke itself would get an hour
    spoke = json.loads(world.run("credential-process", "--profile", "spoke1").stdout)
    assert spoke["Expiration"] == hub["Expiration"]


# -- the rules, checked when the config loads ---------------------------------------------------


@pytest.mark.parametrize(("extra", "broken", "message"), [
    ('\n[profiles.a]\nsource_profile = "b"\nrole_arn = "arn:aws:iam::444444444444:role/A"\n'
     '\n[profiles.b]\nsource_profile = "c"\nrole_arn = "arn:aws:iam::444444444444:role/B"\n'
     '\n[profiles.c]\nsource_profile = "a"\nrole_arn = "arn:aws:iam::444444444444:role/C"\n',
     "a", r"config\.toml:\d+: source_profile makes a cycle: a -> b -> c -> a"),
    ("".join(f'\n[profiles.deep{i}]\nsource_profile = "{"spoke1" if i == 0 else f"deep{i - 1}"}"'
             f'\nrole_arn = "arn:aws:iam::444444444444:role/D{i}"\n' for i in range(5)),
     "deep3", r"config\.toml:\d+: profile 'deep3' is reached through 6 roles \(dev → hub → spoke1 → "
     r"deep0 → deep1 → deep2 → deep3\), more than 5"),
    ('\n[profiles.long]\nsource_profile = "hub"\nrole_arn = "arn:aws:iam::444444444444:role/L"\n'
     'duration_seconds = 7200\n',
     "long", r"config\.toml:\d+: profile 'long': duration_seconds 7200 is over 3600, AWS's limit for a "
     r"role assumed with role credentials"),
    ('\n[profiles.sess]\nsource_profile = "hub"\nrole_arn = "arn:aws:iam::444444444444:role/S"\n'
     f'mfa_serial = "{MFA_SERIAL}"\nmfa_session = true\n',
     "sess", r"config\.toml:\d+: profile 'sess' asks for an MFA session, but its source 'hub' is a role"),
])
def test_each_chain_rule_is_one_line_naming_file_line_and_key(world, extra, broken, message):
    """The broken profile fails alone, with its file and line; the valid ones keep working;
    list names it, init lists it and writes nothing."""
    import re

    hub_and_spokes(world)
    world.write_toml(world.toml.read_text() + extra)
    result = world.run("credential-process", "--profile", broken)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert world.run("credential-process", "--profile", "spoke1").returncode == 0
    listing = world.run("list")
    assert listing.returncode == 0 and "spoke1" in listing.stdout
    assert re.search(message, listing.stderr), listing.stderr
    init = world.run("init")
    assert init.returncode == 2 and init.stdout == "" and "Traceback" not in init.stderr
    assert re.search(message, init.stderr), init.stderr
    assert "of the TOML config cannot be used" in init.stderr.splitlines()[-1]


# -- list, doctor, console, clear, add ------------------------------------------------------------


def test_list_doctor_console_and_clear_know_the_chain(world):
    hub_and_spokes(world)
    before = world.run("doctor").stdout
    assert "ok    chain of 'spoke1': dev → hub → spoke1; 'hub' not cached" in before
    world.identity("spoke1")

    rows = {line.split()[0]: line for line in world.run("list").stdout.splitlines()[1:]}
    assert rows["spoke1"].endswith("dev → hub → spoke1")
    assert rows["hub"].endswith("dev → hub")

    doctor = world.run("doctor").stdout
    assert ("ok    chain of 'spoke2': dev → hub → spoke2; 'hub' cached, STS accepts it as "
            "arn:aws:sts::111111111111:assumed-role/Hub/alice") in doctor

    federation = FederationEndpoint(world.sts)
    try:
        env = {"XACCOUNT_CREDPROC_FEDERATION_URL": federation.url}
        url = world.run("console", "--profile", "spoke1", "--print", env=env)
        assert url.returncode == 0, url.stderr
        assert federation.requests[-1]["duration"] is None and federation.requests[-1]["matched"]
        refused = world.run("console", "--profile", "spoke1", "--print", "--session-duration",
                            "3600", env=env)
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.count("\n") == 1
        assert "(role chaining), and the federation endpoint refuses --session-duration" in (
            refused.stderr)
    finally:
        federation.stop()

    cleared = world.run("clear", "hub")
    assert cleared.returncode == 0, cleared.stderr
    assert "profiles assumed through 'hub': spoke1, spoke2" in cleared.stdout


def test_add_and_init_take_a_toml_profile_as_source(world):
    hub_and_spokes(world, spokes=("spoke1",))
    world.sts.add_role(SPOKES["spoke3"], trusts=(HUB,))
    result = world.run("add", "spoke3", "--role-arn", SPOKES["spoke3"], "--source-profile",
                       "hub", "--init")
    assert result.returncode == 0, result.stderr
    assert "[profile spoke3]" in world.aws_config.read_text()
    assert world.identity("spoke3").endswith(":assumed-role/Spoke/alice")


# -- IAM Identity Center (SSO) as the first hop --------------------------------------------------

def test_an_sso_profile_as_the_first_hop(world, sso):
    sso_role = "arn:aws:iam::111111111111:role/AWSReservedSSO_Developer_0123456789abcdef"
    sso.log_in(world.home, "corp")
    hub_and_spokes(world, hub_source="corp-sso")
    world.sts.add_role(HUB, trusts=(sso_role,))  # the hub trusts the SSO role; no MFA there
    world.write_toml(world.toml.read_text().replace(f'mfa_serial = "{MFA_SERIAL}"\n', ""))
    assert world.identity("spoke1") == "arn:aws:sts::333333333331:assumed-role/Spoke/alice"
    assert world.identity("spoke2").endswith("/Spoke/alice")
    assert [r["role_name"] for r in sso.requests] == ["Developer"]  # through botocore's provider
    assert signers(world, "AssumeRole")[0] == (
        HUB, "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/"
             "alice")


@pytest.mark.parametrize("state", ["expired", "missing"])
def test_an_expired_or_missing_sso_login_is_one_line_naming_aws_sso_login(world, sso, state):
    if state == "expired":
        sso.log_in(world.home, "corp", lifetime=-60)
    hub_and_spokes(world, hub_source="corp-sso")
    world.write_toml(world.toml.read_text().replace(f'mfa_serial = "{MFA_SERIAL}"\n', ""))
    started = time.monotonic()
    result = world.run("credential-process", "--profile", "spoke1")
    assert time.monotonic() - started < 30
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    # The session's token is renewed first when it can be (this one has no refresh token),
    # then a person asked to sign in again, if there is one to ask.
    assert ("the IAM Identity Center login of sso-session 'corp' has expired or is missing, and "
            "there is no terminal or browser here to sign in with; run 'xaccount-credproc sso "
            "login --sso-session corp' (or 'aws sso login --sso-session corp')") in result.stderr
    assert world.sts.calls_of("AssumeRole") == []


def test_a_refused_hop_is_named_with_the_profile_whose_setting_to_change(world):
    """The hub's role wants an ExternalId; asked for a spoke behind it, the line names the hub
    (whose external_id to set) and the spoke asked for (#37)."""
    hub_and_spokes(world, extra="")
    world.sts.add_role(HUB, mfa_required=True, trusts=(ALICE_ARN,), external_id="hub-ext")
    result = world.run("credential-process", "--profile", "spoke1")
    failure_line(result, f"AWS denied AssumeRole on {HUB} for profile 'hub' (in the chain of "
                         "'spoke1') (AccessDenied); check that the role's trust policy allows "
                         "your source identity, whether the role requires an ExternalId (set "
                         "external_id in profile 'hub')", code=3)
    assert "'spoke1' (AccessDenied)" not in result.stderr
    # Asked for the hub itself, the line is about the hub alone.
    result = world.run("credential-process", "--profile", "hub")
    failure_line(result, f"AWS denied AssumeRole on {HUB} for profile 'hub' (AccessDenied); "
                         "check that the role's trust policy allows your source identity, "
                         "whether the role requires an ExternalId (set external_id)", code=3)
    # Where a spoke's own role refuses, the spoke is named, and the setting is its own.
    world.sts.add_role(HUB, mfa_required=True, trusts=(ALICE_ARN,))
    world.sts.add_role(SPOKES["spoke1"], external_id="another", trusts=(HUB,))
    result = world.run("credential-process", "--profile", "spoke1")
    failure_line(result, f"AWS denied AssumeRole on {SPOKES['spoke1']} for profile 'spoke1' "
                         "(AccessDenied); check that the role's trust policy allows your source "
                         "identity, that external_id matches the trust policy", code=3)

