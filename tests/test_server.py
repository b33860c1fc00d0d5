"""The credential server (`serve`, `server-env`, `exec --server`) through real clients: boto3, the
AWS CLI v1 and v2, the Go SDK v2 from Debian, and a client in a network namespace of its own
reaching the container listener on 169.254.170.2, as a container would."""

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.harness import required
from tests.harness.chains import HUB, SSO_CONFIG, hub_and_spokes
from tests.harness.cred_server import CredServer, get, get_served, raw
from tests.harness.world import ADMIN_ROLE_ARN, ASSUMED, AWS_V2, EXTERNAL_ID, MFA_SERIAL, ROLE_ARN

SSO_ROLE = "arn:aws:iam::111111111111:role/AWSReservedSSO_Developer_0123456789abcdef"

ADMIN_ASSUMED = "arn:aws:sts::333333333333:assumed-role/Admin/alice"
# boto3 as a long-running program would use it: the default chain, nothing but the environment.
BOTO = ("import boto3, json; print(json.dumps(boto3.client('sts', region_name='eu-west-1')"
        ".get_caller_identity()['Arn']))")
# The credentials botocore resolves (access key id and expiry only: nothing secret printed).
RESOLVED = ("import botocore.session, json; c = botocore.session.get_session().get_credentials();"
            " f = c.get_frozen_credentials(); print(json.dumps([c.method, f.access_key, "
            "c._expiry_time.timestamp()]))")


@pytest.fixture
def served(world):
    """Alice's world with mfa_process, two profiles, and a running server."""
    world.standard()
    world.sts.add_role(ADMIN_ROLE_ARN, mfa_required=True)
    world.use_mfa_process(f'\n[profiles.admin]\nrole_arn = "{ADMIN_ROLE_ARN}"\n')
    world.write_aws_config("prod-read-only", "admin")
    server = CredServer(world).start()
    yield server
    server.stop()


def client_env(env: dict, **more) -> dict:
    """A program's environment holding only what server-env gave it (no keys, no profile)."""
    return {**env, **more}


def python(world, code: str, env: dict, timeout: float = 60):
    return world._run([sys.executable, "-c", code], env, timeout)


# -- real clients -------------------------------------------------------------------------------


def test_boto3_and_cli_v1_read_full_uri_with_token_and_token_file(served, tmp_path):
    world = served.world
    env = served.client_env("prod-read-only")
    assert set(env) >= {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}
    assert "AWS_ACCESS_KEY_ID" not in env
    result = python(world, BOTO, env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ASSUMED
    result = world.aws("sts", "get-caller-identity", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED

    # The token in a file (no newline: one breaks botocore), read on each refresh.
    token_file = tmp_path / "token"
    token_file.write_text(env.pop("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
    token_file.chmod(0o600)
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(token_file)
    for result in (python(world, BOTO, env),
                   world.aws("sts", "get-caller-identity", env=env)):
        assert result.returncode == 0, result.stderr
        assert ASSUMED in result.stdout
    assert len(world.sts.calls_of("AssumeRole")) == 1
    assert len(world.sts.calls_of("GetSessionToken")) == 1


def test_cli_v2_and_the_go_sdk_from_debian_read_full_uri_with_token(served, go_probe):
    required(AWS_V2, "Debian's awscli (v2)")
    world = served.world
    env = served.client_env("prod-read-only")
    result = world._run([str(AWS_V2), "sts", "get-caller-identity", "--endpoint-url",
                         world.sts.url], env, 120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED
    # The Go SDK resolves the default profile: nothing in ~/.aws/config for it.
    result = world._run([str(go_probe), "default"], {**env, "STS_ENDPOINT": world.sts.url}, 120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ASSUMED
    assert len(world.sts.calls_of("AssumeRole")) == 1


def test_server_clients_and_aws_commands_in_parallel_make_one_assume_role_per_profile(served):
    world = served.world
    envs = {name: served.client_env(name) for name in ("prod-read-only", "admin")}
    jobs = [lambda e=envs[name]: python(world, BOTO, e) for name in envs for _ in range(4)]
    jobs += [lambda n=name: world.aws("sts", "get-caller-identity", "--profile", n)
             for name in envs for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    for result in results:
        assert result.returncode == 0, result.stderr
    assert sum(ASSUMED in r.stdout for r in results) == 6
    assert sum(ADMIN_ASSUMED in r.stdout for r in results) == 6
    calls = world.sts.calls_of("AssumeRole")
    seen = [(c.action, c.params.get("RoleArn"), c.status, c.error, world.sts.caller_arn(c.caller))
            for c in world.sts.calls if c.action in ("AssumeRole", "GetSessionToken")]
    assert sorted(c.params["RoleArn"] for c in calls) == sorted([ROLE_ARN, ADMIN_ROLE_ARN]), (
        seen, served.log()[-2000:])
    assert len(world.sts.calls_of("GetSessionToken")) == 1, seen  # one MFA code for both


def test_a_chain_from_sso_and_a_stored_source_are_served(world, sso, alice):  # noqa: F811
    # SSO -> Hub -> Spoke: the chain's first hop from IAM Identity Center.
    world.aws_config.write_text(SSO_CONFIG)  # the alice fixture emptied it
    sso.log_in(world.home, "corp")
    hub_and_spokes(world, hub_source="corp-sso")
    world.sts.add_role(HUB, trusts=(SSO_ROLE,))
    # And a profile whose source is a key pair moved into the keyring (`source import`).
    world.write_toml(world.toml.read_text().replace(f'mfa_serial = "{MFA_SERIAL}"\n', "")
                     + f'\n[profiles.stored]\nsource_profile = "dev"\nrole_arn = "{ROLE_ARN}"\n'
                       f'external_id = "{EXTERNAL_ID}"\nmfa_serial = "{MFA_SERIAL}"\n')
    imported = world.run("source", "import", "dev", "--region", "eu-west-1")
    assert imported.returncode == 0, imported.stderr
    server = CredServer(world).start()
    try:
        for name, arn in (("spoke1", "arn:aws:sts::333333333331:assumed-role/Spoke/alice"),
                          ("stored", ASSUMED)):
            result = python(world, BOTO, server.client_env(name))
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout) == arn
        assert [r["role_name"] for r in sso.requests] == ["Developer"]
    finally:
        server.stop()


# -- who may ask --------------------------------------------------------------------------------


def test_who_may_ask(served):
    world = served.world
    env = served.client_env("prod-read-only")
    token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    url = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    admin = served.client_env("admin")["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    answers = {
        "no token": get(url),
        "wrong token": get(url, {"Authorization": token[:-1] + ("A" if token[-1] != "A" else "B")}),
        "another profile's token": get(url, {"Authorization": admin}),
        "foreign Host": get(url, {"Authorization": token, "Host": f"evil.example:{served.info['port']}"}),
        "Origin": get(url, {"Authorization": token, "Origin": "http://evil.example"}),
        "Sec-Fetch": get(url, {"Authorization": token, "Sec-Fetch-Mode": "no-cors"}),
    }
    statuses = {what: status for what, (status, _) in answers.items()}
    assert statuses == {"no token": 401, "wrong token": 401, "another profile's token": 403,
                        "foreign Host": 403, "Origin": 403, "Sec-Fetch": 403}
    for _, body in answers.values():
        assert set(body) == {"code", "message"} and body["message"]
    assert "prod-read-only" in answers["another profile's token"][1]["message"]
    port = served.info["port"]
    post = raw(port, b"POST /v1/credentials/prod-read-only HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               b"Authorization: %s\r\nContent-Length: 0\r\n\r\n" % (port, token.encode()))
    assert post.startswith(b"HTTP/1.1 405 ")
    huge = raw(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
    assert huge.startswith(b"HTTP/1.1 431 ")
    status, body = get_served(url, {"Authorization": token})
    assert status == 200 and body["AccessKeyId"].startswith("ASIA"), (body, served.log())
    assert set(body) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId",
                         "RoleArn"}
    assert body["Expiration"].endswith("Z") and body["AccountId"] == "222222222222"

    # Revoked: the very next request is refused.
    logged = served.logged("profile=prod-read-only 200")
    client_id = logged[0].split()[2].split("(")[0][len("client="):]
    revoked = served.run("server-revoke", client_id)
    assert revoked.returncode == 0, revoked.stderr
    assert get(url, {"Authorization": token})[0] == 401

    secrets = world.sts.issued_secrets() + [token, admin]
    text = json.dumps([b for _, b in answers.values()]) + served.log()
    assert not [s for s in secrets if s in text]
    for path in (served.runtime / "xaccount-credproc" / "server").rglob("*"):
        if path.is_file():
            assert oct(path.stat().st_mode & 0o777) == "0o600"
            assert not [s for s in secrets if s in path.read_text()]


def test_a_slow_header_and_too_many_connections_are_bounded(served):
    import socket

    port = served.info["port"]
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\n")  # and never the rest
        sock.settimeout(15)
        assert sock.recv(100) == b""  # closed by the server
    assert 4 < time.monotonic() - started < 10


# -- MFA never stalls a client ------------------------------------------------------------------


def test_while_mfa_process_blocks_clients_get_mfa_required_then_are_served(world):
    world.standard()
    gate = world.root / "code-typed"
    script = world.root / "slow-otp"
    script.write_text(f"#!/bin/sh\nwhile [ ! -e {gate} ]; do sleep 0.1; done\n"
                      f"exec {world.mfa_process_command()}\n")
    script.chmod(0o755)
    world.mfa_process_line()  # writes the device's code file
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{script}"\n'))
    server = CredServer(world).start()
    try:
        env = server.client_env("prod-read-only")
        headers = {"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
        for _ in range(3):  # SDK retries while the code is not in: one prompt, fast answers
            started = time.monotonic()
            status, body = get(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers)
            assert time.monotonic() - started < 1.5
            assert status == 503 and body["code"] == "MfaRequired", body
            assert "'prod-read-only'" in body["message"]
            assert "credential-process --profile prod-read-only" in body["message"]
        # The AWS CLI shows the body to its user.
        shown = world.aws("sts", "get-caller-identity", env=env)
        assert shown.returncode != 0 and "MfaRequired" in shown.stderr
        gate.touch()  # the code arrives
        deadline = time.monotonic() + 10
        while get(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers)[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        result = python(world, BOTO, env)
        assert result.returncode == 0, result.stderr
        assert len(world.sts.calls_of("GetSessionToken")) == 1
        assert len(world.sts.calls_of("AssumeRole")) == 1
    finally:
        server.stop()


# -- long-running programs ----------------------------------------------------------------------

# A child that outlives role sessions: every second it resolves credentials afresh (as an SDK
# does once 15 minutes are left) and calls STS with them, for `seconds`.
LONG_CHILD = """
import json, os, sys, time
import boto3, botocore.session
assert "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_SECRET_ACCESS_KEY" not in os.environ
seen = []
end = time.time() + float(sys.argv[1])
while time.time() < end:
    creds = botocore.session.get_session().get_credentials()
    frozen = creds.get_frozen_credentials()
    left = creds._expiry_time.timestamp() - time.time()
    arn = boto3.client("sts", region_name="eu-west-1", aws_access_key_id=frozen.access_key,
                       aws_secret_access_key=frozen.secret_key,
                       aws_session_token=frozen.token).get_caller_identity()["Arn"]
    seen.append([frozen.access_key, left, arn])
    time.sleep(0.5)
print(json.dumps(seen))
"""


@pytest.mark.parametrize("daemon", [False, True], ids=["own-server", "running-daemon"])
def test_exec_server_child_outlives_three_role_sessions(world, daemon):
    world.standard()
    world.use_mfa_process()
    # Time runs fast: each role session is issued 3 s before the 20-minute renewal point, so the
    # server renews it in the background every ~4 s, as it would every 40 minutes.
    world.sts.lifetime = 1200 + 3
    server = CredServer(world).start() if daemon else None
    try:
        run = server.run if daemon else world.run
        result = run("exec", "--profile", "prod-read-only", "--server", "--", sys.executable,
                     "-c", LONG_CHILD, "20", timeout=120,
                     env=None if daemon else {"XDG_RUNTIME_DIR": str(world.root)})
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout)
        keys = list(dict.fromkeys(key for key, _, _ in seen))
        assert len(keys) >= 4, seen  # the first session and three more
        assert all(left > 15 * 60 for _, left, _ in seen)
        assert all(arn == ASSUMED for _, _, arn in seen)
        assert len(world.sts.calls_of("GetSessionToken")) == 1  # renewals need no MFA code
        if daemon:
            assert "client=" in server.log()
            listed = server.run("list")
            assert "clients: 0" in listed.stdout  # the exec's client was revoked at its end
    finally:
        if server:
            server.stop()


def test_exec_server_passes_the_exit_status_and_never_keys(world):
    world.standard()
    world.use_mfa_process()
    code = ("import os, sys; assert 'AWS_ACCESS_KEY_ID' not in os.environ; "
            "assert os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'].startswith('http://127.0.0.1:');"
            " sys.exit(7)")
    result = world.run("exec", "--profile", "prod-read-only", "--server", "--",
                       sys.executable, "-c", code, env={"XDG_RUNTIME_DIR": str(world.root)})
    assert result.returncode == 7, result.stderr
    missing = world.run("exec", "--profile", "prod-read-only", "--server", "--", "no-such-cmd",
                        env={"XDG_RUNTIME_DIR": str(world.root)})
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "command not found: no-such-cmd" in missing.stderr


def test_background_renewal_keeps_a_warm_client_from_waiting(served):
    world = served.world
    world.sts.lifetime = 1200 + 2
    env = served.client_env("prod-read-only")
    headers = {"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
    status, first = get_served(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers, within=60)
    assert status == 200, (status, first)
    # No request meanwhile: the server renews on its own, 2 s after the first fetch (waited for
    # as an event: a loaded machine may take longer than the 2 s).
    renewed = "renewed profile=prod-read-only expires="  # not "not renewed profile=...: why"
    served.logged(renewed, within=30)
    assert len(world.sts.calls_of("AssumeRole")) >= 2, (world.sts.calls, served.log())
    started = time.monotonic()
    status, second = get(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers)
    assert status == 200 and time.monotonic() - started < 0.5
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert renewed in served.log()


# -- operations ---------------------------------------------------------------------------------


def test_killed_server_gives_a_connection_error_and_a_restart_serves_from_the_cache(served):
    world = served.world
    env = served.client_env("prod-read-only")
    assert world.aws("sts", "get-caller-identity", env=env).returncode == 0
    served.stop(signal.SIGKILL)
    down = world.aws("sts", "get-caller-identity", env=env)
    assert down.returncode != 0
    assert "connect" in down.stderr.lower(), down.stderr
    again = CredServer(world).start()
    try:
        assert again.info["port"] == served.info["port"]  # the URI handed out still works
        result = world.aws("sts", "get-caller-identity", env=env)
        assert result.returncode == 0, result.stderr
        assert len(world.sts.calls_of("AssumeRole")) == 1  # from the keyring cache
    finally:
        again.stop()


def test_sighup_reloads_the_config_and_a_broken_profile_fails_alone(served):
    world = served.world
    env = served.client_env("prod-read-only")
    admin = served.client_env("admin")
    world.write_toml(world.toml.read_text().replace(f'role_arn = "{ADMIN_ROLE_ARN}"',
                                                    'role_arn = "not-an-arn"'))
    served.process.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    status, body = get(admin["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                       {"Authorization": admin["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
    assert status == 500 and body["code"] == "ConfigError" and "'admin'" in body["message"]
    result = python(world, BOTO, env)
    assert result.returncode == 0, result.stderr
    assert "config reloaded" in served.log()
    assert served.stop() == 0  # SIGTERM: a clean stop
    assert not served.state_file.exists()


def test_clear_reaches_the_server(served):
    world = served.world
    env = served.client_env("prod-read-only")
    headers = {"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
    first = get_served(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers)[1]
    cleared = served.run("clear", "--all")
    assert cleared.returncode == 0, cleared.stderr
    assert "the credential server drops its copies too" in cleared.stdout
    second = get_served(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers)[1]
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert len(world.sts.calls_of("AssumeRole")) == 2
    assert "cleared: " in served.log()


def test_doctor_and_list_report_the_server(served):
    served.client_env("prod-read-only")
    listed = served.run("list")
    assert listed.returncode == 0, listed.stderr
    assert f"credential server: running (pid {served.info['pid']}" in listed.stdout
    assert "clients: 1" in listed.stdout
    doctor = served.run("doctor")
    assert f"credential server: running, answering on {served.url}" in doctor.stdout


def test_bad_input_is_one_line_and_changes_nothing(served):
    world = served.world
    for args, expected in (
            (("serve", "--container-listen", "10.0.0.1"), "outside 169.254.170.0/24"),
            (("serve", "--container-listen", "192.168.1.1:80"), "outside 169.254.170.0/24"),
            (("serve", "--container-listen", "nonsense"), "is not an IPv4"),
            (("serve",), "already running"),
            (("server-env", "--profile", "nope"), "profile 'nope' is not in"),
            (("server-env", "--profile", "admin", "--container"), "no container listener"),
            (("server-revoke", "../x"), "is not a client id"),
            (("server-revoke",), "give client ids or --all")):
        result = served.run(*args)
        assert result.returncode in (1, 2), (args, result)
        assert result.stderr.count("\n") == 1 and expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert list((served.runtime / "xaccount-credproc" / "server" / "clients").iterdir()) == []
    other = world.run("server-env", "--profile", "admin",
                      env={"XDG_RUNTIME_DIR": str(world.root / "elsewhere")})
    assert other.returncode == 1 and "no credential server is running" in other.stderr
    broken = world.root / "broken.toml"
    broken.write_text("[profiles.x\n")
    result = world.run("serve", "--config", str(broken),
                       env={"XDG_RUNTIME_DIR": str(world.root / "elsewhere")}, timeout=30)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "broken.toml" in result.stderr


# -- containers ---------------------------------------------------------------------------------


def _netns_available():
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/ip") and not os.path.exists("/sbin/ip"):
        from tests.harness import unavailable

        unavailable("network namespaces need root and iproute2")


@pytest.fixture
def container_net(world, link_local_turn):
    """A network namespace whose veth has 169.254.170.1/24, the host's end 169.254.170.2/24: a
    container's view of the ECS link-local network, made and removed here."""
    _netns_available()
    name = f"xcp{os.getpid() % 10000}"
    host, inner = f"{name}h", f"{name}c"
    steps = [["ip", "netns", "add", name],
             ["ip", "link", "add", host, "type", "veth", "peer", "name", inner],
             ["ip", "link", "set", inner, "netns", name],
             ["ip", "addr", "add", "169.254.170.2/24", "dev", host],
             ["ip", "link", "set", host, "up"],
             ["ip", "netns", "exec", name, "ip", "addr", "add", "169.254.170.1/24", "dev", inner],
             ["ip", "netns", "exec", name, "ip", "link", "set", inner, "up"],
             ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, timeout=30)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", host], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


RUBY = ("require 'aws-sdk-core'; c = Aws::ECSCredentials.new(retries: 0).credentials; "
        "puts c.access_key_id")


def test_a_container_reaches_the_server_at_169_254_170_2_by_relative_uri(world, container_net):
    world.standard()
    world.use_mfa_process()
    server = CredServer(world, "--container-listen", "169.254.170.2").start()
    try:
        env = server.client_env("prod-read-only", "--container")
        assert set(env) == {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_REGION",
                            "AWS_DEFAULT_REGION"}
        inside = ["ip", "netns", "exec", container_net]
        boto = world._run([*inside, sys.executable, "-c", RESOLVED], env, 60)
        assert boto.returncode == 0, boto.stderr
        method, key, expiry = json.loads(boto.stdout)
        assert method == "container-role" and key.startswith("ASIA")
        assert expiry - time.time() > 15 * 60
        # Ruby's SDK reads only RELATIVE_URI and sends no Authorization header.
        required(__import__("pathlib").Path("/usr/bin/ruby"), "Debian's ruby-aws-sdk-core")
        ruby = world._run([*inside, "/usr/bin/ruby", "-e", RUBY], env, 60)
        assert ruby.returncode == 0, ruby.stderr
        assert ruby.stdout.strip() == key
        # The loopback listener is not reachable from there.
        port = server.info["port"]
        probe = world._run([*inside, sys.executable, "-c",
                            f"import socket; socket.create_connection(('127.0.0.1', {port}), 2)"],
                           None, 30)
        assert probe.returncode != 0
        assert len(world.sts.calls_of("AssumeRole")) == 1
    finally:
        server.stop()


STAND_IN_ENGINE = """#!/bin/sh
# A stand-in container engine: records each command line; no network exists until created.
echo "$*" >> "$(dirname "$0")/calls"
case "$1 $2" in
  "network inspect") echo "Error: network not found" >&2; exit 125 ;;
  "network create") echo "$9" ;;
esac
"""


@pytest.mark.parametrize("engine", ["podman", "docker"])
def test_container_setup_prints_the_steps_and_applies_them_as_root(world, container_net, engine):
    """The same whether or not an engine is installed here: --apply runs the engine found on
    PATH, a stand-in that records what it was asked (the real Podman runs the printed step in
    the container test below)."""
    printed = world.run("container-setup", "--engine", engine)
    assert printed.returncode == 0, printed.stderr
    step = (f"{engine} network create --driver bridge --subnet 169.254.170.0/24 --gateway "
            "169.254.170.2")
    assert step in printed.stdout
    assert "--interface-name" not in printed.stdout  # Podman 4.3 (Debian 12) has no such flag
    assert "--container-listen 169.254.170.2" in printed.stdout
    for private in ("10.", "172.16", "192.168"):
        assert private not in printed.stdout
    stand_in = world.root / "engine"
    stand_in.mkdir()
    (stand_in / engine).write_text(STAND_IN_ENGINE)
    (stand_in / engine).chmod(0o755)
    # --apply in the test's own network namespace, with /etc/sysctl.d on a scratch tmpfs.
    script = ("mount -t tmpfs none /etc/sysctl.d && ip netns exec {ns} env PATH={path} "
              "{helper} container-setup --engine {engine} --apply && cat /etc/sysctl.d/*; "
              "ip netns exec {ns} cat /proc/sys/net/ipv4/ip_unprivileged_port_start").format(
        ns=container_net, path=f"{stand_in}:/usr/bin:/bin", engine=engine,
        helper=world.env["PATH"].split(os.pathsep)[0] + "/xaccount-credproc")
    applied = world._run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         None, 60)
    assert applied.returncode == 0, applied.stderr
    assert f"{engine} network xaccount-credproc created (169.254.170.0/24, gateway " \
           "169.254.170.2)" in applied.stdout
    create = (stand_in / "calls").read_text().splitlines()[-1]
    printed_step = next(line for line in printed.stdout.splitlines()
                        if line.startswith(f"{engine} network create"))
    assert f"{engine} {create}" == printed_step  # --apply runs exactly the printed step
    assert "net.ipv4.ip_unprivileged_port_start = 80" in applied.stdout
    assert applied.stdout.strip().endswith("80")
    # No engine on PATH (an empty directory: never the machine's own engine): the network step
    # is skipped with a line saying so.
    (world.root / "no-engine").mkdir()
    missing = world._run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          script.replace(f"{stand_in}:/usr/bin:/bin", str(world.root /
                                                                          "no-engine"))],
                         None, 60)
    assert missing.returncode == 0, missing.stderr
    assert f"{engine} is not installed: network not created" in missing.stdout


PODMAN = __import__("pathlib").Path("/usr/bin/podman")


@pytest.fixture
def podman(link_local_turn):
    """Rootful Podman with runc and cgroupfs, its storage, run state and network configs in
    this test's own directories (never the machine's), and a root file system of the host's
    /usr, mounted read-only (REFERENCE.md has the recipe)."""
    required(PODMAN, "Debian's podman")
    required(__import__("pathlib").Path("/usr/sbin/runc"), "Debian's runc")
    import shutil
    import tempfile
    from pathlib import Path

    # Podman refuses a run root path of over 50 characters: a short one in /tmp.
    state = Path(tempfile.mkdtemp(prefix="xcp-podman-"))
    rootfs = state / "rootfs"
    for name in ("usr", "etc", "tmp", "proc", "dev", "sys", "root"):
        (rootfs / name).mkdir(parents=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        (rootfs / link).symlink_to(f"usr/{link}")
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\n")
    base = [str(PODMAN), "--runtime", "runc", "--cgroup-manager=cgroupfs", "--storage-driver",
            "vfs", "--root", str(state / "storage"), "--runroot", str(state / "run"),
            "--network-config-dir", str(state / "networks")]
    try:
        yield base, rootfs
    finally:
        subprocess.run([*base, "system", "reset", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def test_a_real_podman_container_reaches_serve_by_relative_uri(world, podman):
    """The README's Podman recipe on the Podman Debian ships: the network `container-setup`
    prints (gateway 169.254.170.2), `serve --container-listen 169.254.170.2`, a container on
    that network with `server-env --container`: Ruby's SDK in it gets the role by RELATIVE_URI.
    The network is removed afterwards, its bridge with it."""
    from xaccount_credproc.server.setup import NETWORK, network_command

    base, rootfs = podman
    world.standard()
    world.use_mfa_process()
    created = subprocess.run([*base, *network_command("podman")[1:]], capture_output=True,
                             text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    server = CredServer(world, "--container-listen", "169.254.170.2").start()
    try:
        env = server.client_env("prod-read-only", "--container")
        env_file = world.root / "container.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        ran = subprocess.run(
            [*base, "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
             "--network", NETWORK, "--env-file", str(env_file), "-v", "/usr:/usr:ro",
             "--rootfs", str(rootfs), "/usr/bin/ruby", "-e", RUBY],
            capture_output=True, text=True, timeout=180)
        assert ran.returncode == 0, ran.stderr
        (call,) = world.sts.calls_of("AssumeRole")
        served = [c for c in world.sts.calls if c.action == "AssumeRole" and c.status == 200]
        assert ran.stdout.strip().startswith("ASIA") and len(served) == 1
        assert world.sts.caller_arn(ran.stdout.strip()).endswith(
            ":assumed-role/DevReadOnly-CrossAccount/alice")
    finally:
        server.stop()
        removed = subprocess.run([*base, "network", "rm", "-f", NETWORK], capture_output=True,
                                 text=True, timeout=60)
    assert removed.returncode == 0, removed.stderr
    addresses = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True, timeout=30)
    assert "169.254.170.2" not in addresses.stdout  # the bridge went with the network
