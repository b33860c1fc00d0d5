"""The main job, end to end, with no AWS account: `scripts/demo.sh` runs this.

A local STS emulator on 127.0.0.1 plays AWS (alice's user in account 111111111111, a read-only role
in 222222222222 that requires ExternalId "DeveloperAccess" and MFA). A private D-Bus with
gnome-keyring is the OS keyring. A throwaway HOME gets the sample config; the real `aws` CLI then
calls xaccount-credproc through credential_process. The MFA code comes from a virtual MFA device
(TOTP, tests/harness/otp.py, as mfa_process) so the demo needs no typing. AWS takes each code
once: staging-admin, a two-hour role that takes its own code, waits for the device's next one.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.harness.keyring_daemon import SecretServiceDaemon
from tests.harness.sts_emulator import StsEmulator
from tests.harness.world import ALICE_ARN, ALICE_KEY, ALICE_SECRET, World

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample-config"


def say(text: str = "") -> None:
    print(text, flush=True)


def run_demo(workdir: Path) -> int:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sts = StsEmulator()
    sts.start()
    keyring = SecretServiceDaemon(workdir / "secret-service").start()
    try:
        world = World(workdir / "world", sts, keyring)
        sts.add_user_key(ALICE_KEY, ALICE_SECRET, ALICE_ARN)
        world.use_totp()  # AWS's virtual MFA device: a code every 30 s, each good once
        sts.add_role("arn:aws:iam::222222222222:role/DevReadOnly-CrossAccount",
                     external_id="DeveloperAccess", mfa_required=True)
        sts.add_role("arn:aws:iam::333333333333:role/Admin", mfa_required=True)
        for name in ("config.toml", "team-accounts.toml"):
            shutil.copy(SAMPLE / name, world.toml.parent / name)
        world.use_mfa_process()
        world.write_credentials()
        world.aws_config.write_text("# alice's own settings\n[default]\nregion = eu-west-1\n")

        say(f"STS emulator listening on {sts.url} (AWS_ENDPOINT_URL_STS)")
        say(f"Throwaway HOME: {world.home}")
        say(f"Config: {world.toml} (copied from sample-config/)")
        say()
        say("$ xaccount-credproc init")
        init = world.run("init")
        say("    " + (init.stdout + init.stderr).strip().replace("\n", "\n    "))
        if init.returncode != 0:
            return 1
        say()
        say("~/.aws/config:")
        say("    " + world.aws_config.read_text().strip().replace("\n", "\n    "))
        say()
        status = 0
        for profile in ("prod-read-only", "staging-admin", "prod-read-only"):
            say(f"$ aws sts get-caller-identity --profile {profile}")
            if profile == "staging-admin":
                say("    (a role of 2 h takes its own MFA code: waiting for the device's next "
                    "code, up to 30 s)")
            result = world.aws("sts", "get-caller-identity", "--profile", profile)
            if result.returncode != 0:
                say(f"FAILED ({result.returncode}): {result.stderr.strip()}")
                status = 1
                continue
            say("    " + result.stdout.strip().replace("\n", "\n    "))
            say()
        say("What STS saw (the MFA code is recorded only as a digest):")
        for call in sts.calls:
            params = {k: v for k, v in call.params.items() if k != "TokenCode"}
            if "TokenCode" in call.params:
                params["TokenCode"] = "<6 digits>"
            signer = "alice's keys" if call.caller == ALICE_KEY else f"key {call.caller}"
            say(f"    {call.action} -> HTTP {call.status}, signed with {signer}: "
                f"{json.dumps(params)}")
        say()
        say("prod-read-only (1 h) rode the MFA session: one code for GetSessionToken, good for "
            "12 h and every\nrole of an hour or less. staging-admin (2 h) is over AWS's 1-hour "
            "limit behind an MFA session,\nso it took its own code (the device's next one: AWS "
            "takes each code once) on an AssumeRole\nsigned by alice's keys. The third call was a "
            "cache hit.")
        say("$ xaccount-credproc list")
        listing = world.run("list")
        say("    " + listing.stdout.strip().replace("\n", "\n    "))
        if listing.returncode != 0:
            status = 1
        return status
    finally:
        keyring.stop()
        sts.stop()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="xaccount-credproc-demo-") as workdir:
        return run_demo(Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
