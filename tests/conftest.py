import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import required
from tests.harness.keyring_daemon import SecretServiceDaemon
from tests.harness.sts_emulator import StsEmulator
from tests.harness.world import World


@pytest.fixture(scope="session")
def sts_server():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = StsEmulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sts(sts_server):
    """The recording STS server on 127.0.0.1, emptied for each test."""
    sts_server.reset()
    sts_server.reset_moto()
    return sts_server


@pytest.fixture(scope="session", autouse=True)
def no_secret_anywhere_after_the_session(sts_server, secret_service_daemon):
    """The secret scan (tests/harness/secret_scan.py), over everything the whole session left:
    every test HOME, the keyring daemon's files, every stderr captured. A leak fails the
    session at its end, whatever test made it and in whatever order the tests ran."""
    yield
    from tests.harness.secret_scan import scan_session

    found, _ = scan_session(sts_server, secret_service_daemon.root)
    assert found == [], found[:10]


@pytest.fixture(scope="session")
def secret_service_daemon(tmp_path_factory):
    daemon = SecretServiceDaemon(tmp_path_factory.mktemp("secret-service")).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def secret_service(secret_service_daemon):
    """The real Secret Service (gnome-keyring on a private D-Bus), emptied for each test."""
    secret_service_daemon.wipe()
    return secret_service_daemon


@pytest.fixture
def world(tmp_path, sts, secret_service):
    return World(tmp_path, sts, secret_service)


class KernelKeysMadeHere:
    """This tool's kernel-keyring entries made since the test began (entries that were there
    before, e.g. a developer's own, are neither counted nor touched)."""

    def __init__(self):
        from tests.harness import kernel_keys

        self._keys = kernel_keys
        self.before = {key.id for key in kernel_keys.ours()} if os.path.exists("/proc/keys") \
            else set()

    def ours(self):
        return [key for key in self._keys.ours() if key.id not in self.before]

    def remove(self):
        self._keys.remove(key.id for key in self.ours())


@pytest.fixture(scope="session", autouse=True)
def no_kernel_keys_left_after_the_suite():
    """The whole suite, checked as a whole: this tool's entries in the kernel keyring are the
    same after it as before (each test removes its own; this catches a leak past that)."""
    made = KernelKeysMadeHere()
    yield
    if os.path.exists("/proc/keys"):
        import time

        deadline = time.monotonic() + 5  # removed keys are collected after an RCU grace period
        while made.ours() and time.monotonic() < deadline:
            time.sleep(0.05)
        left = made.ours()
        made.remove()
        assert not left, f"the suite left kernel keys behind: {left}"


@pytest.fixture(autouse=True)
def kernel_keys_made_here():
    """Every test leaves the machine's kernel keyring as it found it: entries this tool made
    during the test (in the user keyring, shared by the uid's sessions) are removed, so no test
    sees another's. The user keyring is one per uid: two suites run at once as the same user
    would remove each other's entries."""
    made = KernelKeysMadeHere()
    yield made
    if os.path.exists("/proc/keys"):
        made.remove()


@pytest.fixture
def throwaway_user():
    """A throwaway unprivileged user (needs root, as CI has), removed afterwards."""
    from tests.harness import users

    user = users.create_user()
    try:
        yield user
    finally:
        users.delete_user(user)


@pytest.fixture
def public_tmp():
    """A directory another user can reach (pytest's tmp_path is private to root)."""
    import shutil
    import tempfile
    from pathlib import Path

    path = tempfile.mkdtemp(prefix="xcp-shared-")
    os.chmod(path, 0o755)
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


GO_SDK = Path("/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2")
ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture(scope="session")
def go_probe(tmp_path_factory) -> Path:
    required(GO_SDK, "Debian's golang-github-aws-aws-sdk-go-v2-dev")
    go = shutil.which("go") or "/usr/lib/go/bin/go"
    required(Path(go), "Debian's golang-go")
    work = tmp_path_factory.mktemp("go")
    source = work / "src" / "stsprobe"
    shutil.copytree(ROOT / "tests" / "clients" / "stsprobe", source)
    binary = work / "stsprobe"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
           "GO111MODULE": "off", "GOPATH": f"{work}:/usr/share/gocode", "GOPROXY": "off",
           "GOFLAGS": "", "GOCACHE": str(work / "cache"), "CGO_ENABLED": "0"}
    subprocess.run([go, "build", "-o", str(binary), "stsprobe"], cwd=work, env=env, check=True,
                   capture_output=True, timeout=600)
    return binary


@pytest.fixture
def sso(world):
    """The IAM Identity Center emulator (OIDC and portal), and the AWS config's SSO profile
    `corp-sso` of the sso-session `corp`."""
    from tests.harness.chains import SSO_CONFIG
    from tests.harness.sso_portal import SsoPortal

    portal = SsoPortal(world.sts)
    world.env["AWS_ENDPOINT_URL_SSO"] = portal.url
    world.env["AWS_ENDPOINT_URL_SSO_OIDC"] = portal.url
    world.aws_config.write_text(SSO_CONFIG)
    yield portal
    portal.stop()


@pytest.fixture
def alice(world):
    """Alice's IAM user (moto), her MFA device and a role that needs ExternalId and MFA; her
    keys in ~/.aws/credentials (CRLF, comments) and a backup of it, as people keep."""
    from tests.harness.iam_users import CREDENTIALS, iam_user
    from tests.harness.mfa import counting_mfa
    from tests.harness.world import DEFAULT_TOML, EXTERNAL_ID, ROLE_ARN

    key, secret, arn = iam_user(world)
    world.env["AWS_ENDPOINT_URL_IAM"] = world.sts.url  # moto's IAM, behind the same server
    world.sts.add_role(ROLE_ARN, external_id=EXTERNAL_ID, mfa_required=True)
    world.use_listed_codes()
    world.aws_credentials.write_bytes(CREDENTIALS.format(key=key, secret=secret).encode())
    (world.aws_dir / "credentials.bak").write_bytes(world.aws_credentials.read_bytes())
    world.write_toml(DEFAULT_TOML)
    world.aws_config.write_text("")
    counter = counting_mfa(world)
    return {"key": key, "secret": secret, "arn": arn, "counter": counter}
