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
    """The recording STS server on 127.0.0.1, emptied for each test and on a port of the test's
    own (StsEmulator.listen_anew: no cache entry of one test is another's)."""
    sts_server.reset()
    sts_server.listen_anew()
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


# The kernel keyring's user keyring is one per uid: every worker of a parallel run shares it.
# Each test's STS endpoint is its own, and cache entries are keyed by it, so tests running side
# by side never meet in it; a test that counts or sweeps what was made there, or keeps entries
# not keyed by an endpoint (a stored source's keys), takes the keyring for itself (an
# exclusive lock) while the others share it.
# flock favours no one: with three workers, shared turns overlap without a gap and a test
# waiting for the keyring to itself waited four minutes. So every turn first passes a gate,
# which a test waiting for the exclusive turn holds until it has it: no shared turn starts
# meanwhile, and it waits only for the tests already running.
KERNEL_TURNS = Path(f"/tmp/xaccount-credproc-tests-{os.getuid()}.kernel-keyring.lock")
KERNEL_GATE = Path(f"/tmp/xaccount-credproc-tests-{os.getuid()}.kernel-keyring.gate")
_SUITE = {}


@pytest.fixture(autouse=True)
def kernel_keyring_turn(request):
    import fcntl

    exclusive = "kernel_keys_made_here" in request.fixturenames
    gate = os.open(KERNEL_GATE, os.O_RDWR | os.O_CREAT, 0o600)
    fd = os.open(KERNEL_TURNS, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
        yield
    finally:
        os.close(fd)
        os.close(gate)


@pytest.fixture
def link_local_turn():
    """169.254.170.2, the ECS address a container reaches the credential server at, for one
    test at a time: in a parallel run two tests would each put it on a veth of their own."""
    import fcntl

    fd = os.open(f"/tmp/xaccount-credproc-tests-{os.getuid()}.link-local.lock",
                 os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@pytest.fixture
def kernel_keys_made_here(kernel_keyring_turn):
    """The entries this tool made in the kernel keyring during the test, which has the keyring
    to itself (kernel_keyring_turn); they are removed when it ends, so the next test starts
    from what was there before."""
    from tests.harness.kernel_keys import MadeHere

    made = MadeHere()
    yield made
    if os.path.exists("/proc/keys"):
        made.remove()


def pytest_configure(config):
    """The run's own directory of claimed ports (harness/ports.py), made by the
    whole run before its workers start, which inherit the variable."""
    import tempfile

    from tests.harness.ports import PORTS_CLAIMED_ENV

    if not hasattr(config, "workerinput"):
        os.environ[PORTS_CLAIMED_ENV] = tempfile.mkdtemp(prefix="xcp-test-ports-")


def pytest_unconfigure(config):
    from tests.harness.ports import PORTS_CLAIMED_ENV

    if not hasattr(config, "workerinput"):
        shutil.rmtree(os.environ.pop(PORTS_CLAIMED_ENV, ""), ignore_errors=True)


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the whole run, not one of its workers
        from tests.harness.kernel_keys import MadeHere

        _SUITE["made"] = MadeHere()


def pytest_sessionfinish(session, exitstatus):
    """The whole run, checked as a whole once every worker is done: what this tool left in the
    kernel keyring are cache entries with a kernel timeout (the kernel drops them at their
    expiry; a test that keeps anything for good cleans it up itself), and the run removes
    them, so the machine's keyring is as it was before."""
    made = _SUITE.pop("made", None)
    if made is None or not os.path.exists("/proc/keys"):
        return
    lasting = [key for key in made.ours() if key.timeout == "perm"]
    made.remove()
    if lasting:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"the suite left kernel keys without an expiry behind: {lasting}",
                                red=True)


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
    """The Go program (tests/clients/stsprobe) built once per run against Debian's SDK: the
    first worker that needs it builds it under a lock, the others use that binary."""
    import fcntl

    required(GO_SDK, "Debian's golang-github-aws-aws-sdk-go-v2-dev")
    go = shutil.which("go") or "/usr/lib/go/bin/go"
    required(Path(go), "Debian's golang-go")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    work = shared / "go-stsprobe"
    binary = work / "stsprobe"
    with open(shared / "go-stsprobe.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            source = work / "src" / "stsprobe"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(ROOT / "tests" / "clients" / "stsprobe", source)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
                   "GO111MODULE": "off", "GOPATH": f"{work}:/usr/share/gocode",
                   "GOPROXY": "off", "GOFLAGS": "", "GOCACHE": str(work / "cache"),
                   "CGO_ENABLED": "0"}
            subprocess.run([go, "build", "-o", str(binary) + ".new", "stsprobe"], cwd=work,
                           env=env, check=True, capture_output=True, timeout=600)
            os.replace(str(binary) + ".new", binary)
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


@pytest.fixture(scope="session")
def desktop():
    """A real X server (Xvfb) with zenity and xdotool: dialogs a test finds and answers."""
    from tests.harness.desktop import Desktop

    screen = Desktop().start()  # raises, never skips, when Xvfb/zenity/xdotool are missing
    yield screen
    screen.stop()


@pytest.fixture
def signin(world):
    """AWS Sign-In's emulator (tests/harness/signin_emulator.py), reached as botocore reaches
    it: AWS_ENDPOINT_URL_SIGNIN."""
    from tests.harness.signin_emulator import SignInEmulator

    emulator = SignInEmulator(world.sts)
    world.env["AWS_ENDPOINT_URL_SIGNIN"] = emulator.url
    yield emulator
    emulator.mute.clear()
    emulator.stop()


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


@pytest.fixture
def mallory(throwaway_user):
    """Another local user: what they may plant, read or hold must change nothing of ours."""
    return throwaway_user


@pytest.fixture
def immutable(tmp_path):
    """Make a directory refuse every change, root's too (root ignores mode bits)."""
    from tests.harness import unavailable

    made = []

    def freeze(path):
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            unavailable(f"chattr +i is not possible here: {result.stderr.strip()}")
        made.append(path)

    yield freeze
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)
