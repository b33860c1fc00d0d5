"""A throwaway user: HOME with ~/.aws files, the TOML config, and an environment for real clients."""

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
HELPER = BIN / "xaccount-credproc"
# What `init` writes before "credential-process": the fast start (see xaccount_credproc/__main__.py);
# the console script's interpreter is the venv's `python`.
PACKAGE_MAIN = Path(__file__).resolve().parents[2] / "xaccount_credproc" / "__main__.py"
FAST_START = f"{BIN / 'python'} -S {PACKAGE_MAIN}"
AWS = BIN / "aws"
AWS_V2 = Path("/usr/bin/aws")  # the AWS CLI v2 as Debian ships it

ALICE_KEY = "AKIAALICE0000000TEST"
ALICE_SECRET = "aliceSECRETaliceSECRETaliceSECRET0000001"
ALICE_ARN = "arn:aws:iam::111111111111:user/alice"
MFA_SERIAL = "arn:aws:iam::111111111111:mfa/alice"
MFA_CODE = "845271"  # a fixed device's code; not a substring of account IDs such as 123456789012
OTP_TOOL = Path(__file__).resolve().parent / "otp.py"
ROLE_ARN = "arn:aws:iam::222222222222:role/DevReadOnly-CrossAccount"
ADMIN_ROLE_ARN = "arn:aws:iam::333333333333:role/Admin"
# Who the standard world's prod-read-only role is at STS.
ASSUMED = "arn:aws:sts::222222222222:assumed-role/DevReadOnly-CrossAccount/alice"
EXTERNAL_ID = "DeveloperAccess"

DEFAULT_TOML = f"""\
[defaults]
source_profile = "dev"
mfa_serial = "{MFA_SERIAL}"
region = "eu-west-1"
role_session_name = "alice"

[profiles.prod-read-only]
role_arn = "{ROLE_ARN}"
external_id = "{EXTERNAL_ID}"
"""


# Every world and every stderr captured in this test session, for the final secret scan.
ALL_WORLDS: list["World"] = []
CAPTURED_STDERR: list[str] = []
# Secrets a test made beyond STS's (a vault passphrase, a derived key, another IAM user's key).
EXTRA_SECRETS: list[str] = []


class World:
    def __init__(self, root: Path, sts, secret_service=None):
        ALL_WORLDS.append(self)
        self.root = root
        self.sts = sts
        self.secret_service = secret_service
        self.home = root / "home"
        self.aws_dir = self.home / ".aws"
        self.aws_dir.mkdir(parents=True)
        self.aws_config = self.aws_dir / "config"
        self.aws_credentials = self.aws_dir / "credentials"
        self.toml = self.home / ".config" / "xaccount-credproc" / "config.toml"
        self.toml.parent.mkdir(parents=True)
        self.cache_dir = self.home / ".cache" / "xaccount-credproc"
        self.env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LOGNAME": "alice",
            "AWS_CONFIG_FILE": str(self.aws_config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.aws_credentials),
            "AWS_ENDPOINT_URL_STS": sts.url,
            # Never let botocore look for an instance role: no traffic off loopback.
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            **(secret_service.env if secret_service else {}),
        }

    # -- files --------------------------------------------------------------------------------

    def write_toml(self, text: str = DEFAULT_TOML) -> None:
        self.toml.write_text(text)

    def write_credentials(self, text: str | None = None) -> None:
        self.aws_credentials.write_text(text if text is not None else (
            f"[dev]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n"))

    def write_aws_config(self, *profiles: str, extra: str = "") -> None:
        """Hand-written credential_process stanzas (until `init` writes them)."""
        text = extra
        for name in profiles:
            text += (f"[profile {name}]\ncredential_process = {HELPER} credential-process "
                     f"--profile {name}\nregion = eu-west-1\n\n")
        self.aws_config.write_text(text)

    def standard(self, mfa_required: bool = True) -> "World":
        """Alice in account 1111 with MFA, allowed into the read-only role in 2222."""
        self.sts.add_user_key(ALICE_KEY, ALICE_SECRET, ALICE_ARN)
        self.sts.add_role(ROLE_ARN, external_id=EXTERNAL_ID, mfa_required=mfa_required)
        self.use_listed_codes()
        self.write_toml()
        self.write_credentials()
        self.write_aws_config("prod-read-only")
        return self

    @property
    def otp_file(self) -> Path:
        """What the OTP tool reads (outside HOME): the TOTP seed, or the device's next codes."""
        return self.root / "otp-seed"

    def use_totp(self) -> None:
        """Alice's device as AWS's virtual MFA devices are: TOTP, a code every 30 s, each one
        accepted once. For the tests about codes in time (waiting for the next one)."""
        import secrets

        seed = secrets.token_bytes(20)
        self.otp_file.write_text(seed.hex())
        self.otp_file.chmod(0o644)  # throwaway users' helpers run the OTP tool too
        self.sts.add_totp_device(MFA_SERIAL, seed)

    def use_listed_codes(self, count: int = 60) -> None:
        """Alice's device as one whose next `count` codes the test knows, each accepted once
        (AWS's rule holds: the emulator refuses a code twice), the OTP tool giving the next one
        at each run, as a person who waits for the next code would. The default: most tests
        need a few codes and are not about the wait (test_aws_rules.py is)."""
        import secrets

        codes = []
        while len(codes) < count:
            code = f"{secrets.randbelow(900000) + 100000}"
            if code not in codes:
                codes.append(code)
        self.sts.add_mfa_device(MFA_SERIAL, *codes)
        self.otp_file.write_text("\n".join(["codes", *codes]) + "\n")
        self.otp_file.chmod(0o644)

    def code(self) -> str:
        """What Alice types: her device's next code not used yet."""
        text = self.otp_file.read_text()
        if not text.startswith("codes\n"):
            return self.sts.unused_code(MFA_SERIAL)
        codes = text.split()[1:]
        self.otp_file.write_text("\n".join(["codes", *codes[1:]]) + "\n")
        return codes[0]

    def mfa_process_command(self, counter: Path | None = None) -> str:
        """An OTP tool that prints the device's current code: its seed comes from a file outside
        HOME, never from a command line. With `counter`, each run adds a line to that file."""
        return f"{sys.executable} -S {OTP_TOOL} {self.otp_file}" + (
            f" {counter}" if counter else "")

    def mfa_process_line(self) -> str:
        return f'mfa_process = "{self.mfa_process_command()}"\n'

    def use_mfa_process(self, extra: str = "") -> None:
        """Put mfa_process into [defaults] (plus `extra` lines at the end of the TOML)."""
        self.write_toml(self.toml.read_text().replace("[defaults]\n", "[defaults]\n"
                                                      + self.mfa_process_line()) + extra)

    # -- the keyring ---------------------------------------------------------------------------

    def keyring_items(self) -> list[dict[str, str]]:
        """Attributes of our entries in the Secret Service."""
        return [i for i in self.secret_service.items() if i.get("service") == "xaccount-credproc"]

    def keyring_set(self, username: str, value: str) -> None:
        """Write an entry through keyring itself, in a process with this world's environment."""
        code = ("import keyring, sys; keyring.set_password('xaccount-credproc', sys.argv[1], "
                "sys.stdin.read())")
        subprocess.run([sys.executable, "-c", code, username], input=value, text=True,
                       env=self.env, check=True, timeout=60)

    # -- processes ----------------------------------------------------------------------------

    def run(self, *args: str, env: dict | None = None, timeout: float = 60,
            **kwargs) -> subprocess.CompletedProcess:
        """Run the installed console script, detached from any terminal unless told otherwise."""
        return self._run([str(HELPER), *args], env, timeout, **kwargs)

    def aws(self, *args: str, env: dict | None = None, timeout: float = 90,
            **kwargs) -> subprocess.CompletedProcess:
        return self._run([str(AWS), *args], env, timeout, **kwargs)

    def identity(self, profile: str = "prod-read-only", env: dict | None = None) -> str:
        """The ARN the real `aws` CLI is given for `profile` (get-caller-identity), which must
        work."""
        import json

        result = self.aws("sts", "get-caller-identity", "--profile", profile, env=env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["Arn"]

    def _run(self, argv, env, timeout, **kwargs):
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("start_new_session", True)  # no controlling terminal
        result = subprocess.run(argv, env={**self.env, **(env or {})}, capture_output=True,
                                text=True, timeout=timeout, check=False, **kwargs)
        CAPTURED_STDERR.append(result.stderr)
        return result
