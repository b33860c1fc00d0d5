"""kubectl on EKS from this tool's cache: `eks kubeconfig` (DescribeCluster at moto's EKS as the
profile's role, the kubeconfig merged with everything else kept), and `eks-token` as kubectl's
exec plugin, against an API server that authenticates tokens as aws-iam-authenticator does and
an STS that checks the presigned signature; the token's URL is botocore's presigner's, byte for
byte; bad inputs one line each."""

import base64
import concurrent.futures
import datetime
import json
import os
import shutil
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness.checks import failure_line
from tests.harness.kube_apiserver import KubeApiServer
from tests.harness.setups import helper_json
from tests.harness.world import ASSUMED, MFA_SERIAL, ROLE_ARN

REGION = "eu-west-1"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:222222222222:cluster/prod"
OTHERS = """\
apiVersion: v1
# clusters of other clouds, kept as they are
clusters:
- cluster:
    certificate-authority-data: T1RIRVI=
    server: https://other.example:6443
  name: other
contexts:
- context:
    cluster: other
    namespace: dev   # my namespace
    user: other-user
  name: other
current-context: other
kind: Config
preferences: {}
users:
- name: other-user
  user:
    token: not-a-real-token
"""


def kubectl() -> str:
    from tests.harness import unavailable

    found = shutil.which("kubectl")
    if found is None:
        unavailable("kubectl is not installed: run scripts/bootstrap.sh (kubernetes-client)")
    return found


@pytest.fixture
def eks(world, tmp_path):
    """Alice, the read-only role (MFA through mfa_process), and EKS cluster `prod` in the
    role's account at moto, whose API endpoint is a local API server that maps the role."""
    import boto3
    from moto.eks.models import eks_backends

    world.standard()
    world.use_mfa_process()
    world.aws_config.write_text("")
    assert world.run("init").returncode == 0
    world.env["AWS_ENDPOINT_URL_EKS"] = world.sts.url
    world.env["KUBECONFIG"] = str(world.root / "kube" / "config")
    creds = helper_json(world)
    boto3.client("eks", region_name=REGION, endpoint_url=world.sts.url,
                 aws_access_key_id=creds["AccessKeyId"],
                 aws_secret_access_key=creds["SecretAccessKey"],
                 aws_session_token=creds["SessionToken"]).create_cluster(
        name="prod", roleArn="arn:aws:iam::222222222222:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": []})
    server = KubeApiServer(tmp_path / "apiserver", "prod", world.sts.url,
                           {ROLE_ARN: "dev-readonly"})
    cluster = eks_backends["222222222222"][REGION].clusters["prod"]
    cluster.endpoint, cluster.certificate_authority = server.url, {"data": server.ca_data}
    yield world, server
    server.stop()


def whoami(world, env=None) -> subprocess.CompletedProcess:
    return world._run([kubectl(), "get", "--raw", "/apis/xcp.test/v1/whoami"],
                      {**(env or {})}, 120)


def test_kubectl_reaches_the_cluster_with_a_token_from_the_cache(eks):
    world, server = eks
    config = world.root / "kube" / "config"
    config.parent.mkdir()
    config.write_text(OTHERS)
    result = world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster", "prod",
                       "--region", REGION)
    assert result.returncode == 0, result.stderr
    assert f"added cluster {CLUSTER_ARN}" in result.stdout
    text = config.read_text()
    assert os.stat(config).st_mode & 0o777 == 0o600
    for kept in ("# clusters of other clouds, kept as they are\n", "    namespace: dev   # my "
                 "namespace\n", "- name: other-user\n  user:\n    token: not-a-real-token\n",
                 "  name: other\n"):
        assert kept in text
    assert "current-context: prod-read-only@" + CLUSTER_ARN in text
    user = next(u for u in __import__("yaml").safe_load(text)["users"]
                if u["name"] == f"prod-read-only@{CLUSTER_ARN}")["user"]["exec"]
    assert os.path.isabs(user["command"]) and user["args"][0] == "-S"
    assert user["args"][2:] == ["eks-token", "--profile", "prod-read-only", "--cluster", "prod",
                                "--region", REGION]
    assert user["interactiveMode"] == "IfAvailable"
    before = len(world.sts.calls_of("AssumeRole"))
    answer = whoami(world)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout) == {"username": "dev-readonly", "arn": ASSUMED}
    assert len(world.sts.calls_of("AssumeRole")) == before  # the cache's credentials
    (review,) = server.accepted()
    assert review["expires"] == 60 and "x-k8s-aws-id" in review["signed_headers"].split(";")
    (presigned,) = [c for c in world.sts.calls_of("GetCallerIdentity")
                    if c.params.get("presigned")]
    assert presigned.params["cluster"] == "prod" and presigned.status == 200
    again = world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster", "prod",
                      "--region", REGION)
    assert "up to date, nothing written" in again.stdout
    assert config.read_text() == text
    # Once the config files are past the snapshot's racy window, a token comes from the card
    # (credentials/hit.py): neither the config nor the resolver is imported.
    written = max(world.toml.stat().st_mtime, world.aws_config.stat().st_mtime)
    time.sleep(max(0.0, written + 2.1 - time.time()))
    line = ["eks-token", "--profile", "prod-read-only", "--cluster", "prod", "--region", REGION]
    assert world.run(*line).returncode == 0  # the full path leaves the card
    timed = world.run(*line, env={"PYTHONPROFILEIMPORTTIME": "1"})
    modules = {row.split("|")[-1].strip() for row in timed.stderr.splitlines()
               if row.startswith("import time:")}
    assert "xaccount_credproc.eks.token" in modules, timed.stderr[-500:]
    for never in ("xaccount_credproc.config.snapshot", "xaccount_credproc.credentials.resolver",
                  "argparse", "boto3", "botocore", "json"):
        assert never not in modules, never
    assert json.loads(timed.stdout)["kind"] == "ExecCredential"
    assert whoami(world).returncode == 0
    assert len(world.sts.calls_of("AssumeRole")) == before


def test_a_token_made_for_another_cluster_is_refused_by_sts(eks):
    """The cluster's name is signed: a token for `staging` fails STS's signature check when the
    API server of `prod` presents it as its own."""
    world, server = eks
    result = world.run("eks-token", "--profile", "prod-read-only", "--cluster", "staging",
                       "--region", REGION)
    token = json.loads(result.stdout)["status"]["token"]
    assert server.authenticate(f"Bearer {token}") is None
    assert "got) 403" in server.reviews[-1]["reason"]
    assert world.sts.calls_of("GetCallerIdentity")[-1].error == "SignatureDoesNotMatch"


@pytest.mark.parametrize("info,version", [
    (None, "client.authentication.k8s.io/v1beta1"),
    ('{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":'
     '{"interactive":false}}', "client.authentication.k8s.io/v1"),
    ('{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",'
     '"spec":{"interactive":true}}', "client.authentication.k8s.io/v1beta1")])
def test_the_exec_credential_follows_kubernetes_exec_info(eks, info, version):
    world, _ = eks
    env = {"KUBERNETES_EXEC_INFO": info} if info else {}
    result = world.run("eks-token", "--profile", "prod-read-only", "--cluster", "prod", env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    credential = json.loads(result.stdout)
    assert credential["kind"] == "ExecCredential" and credential["apiVersion"] == version
    token = credential["status"]["token"]
    assert token.startswith("k8s-aws-v1.") and "=" not in token
    url = base64.urlsafe_b64decode(token[11:] + "==").decode()
    query = parse_qs(urlsplit(url).query)
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert query["X-Amz-Security-Token"]
    signed = datetime.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.UTC)
    expires = datetime.datetime.strptime(credential["status"]["expirationTimestamp"],
                                         "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.UTC)
    assert (expires - signed).total_seconds() == 14 * 60


REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-4", "cn-north-1", "cn-northwest-1",
           "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1",
           "us-isof-south-1", "eusc-de-east-1", "mx-central-1"]
INSTANT = datetime.datetime(2026, 12, 7, 5, 0, 0, tzinfo=datetime.UTC)
KEY, SECRET = "ASIAEXAMPLEEXAMPLE01", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjE+/=with spaces&odd"
# botocore's own presigner, as the AWS CLI's `eks get-token` uses it (the header it adds), at
# a fixed instant, for each region given; with BOTO_DISABLE_CRT its Python signer, else the
# awscrt one botocore[crt] brings.
BOTOCORE_PRESIGN = f"""
import datetime, json, sys
import botocore.auth, botocore.session
instant = datetime.datetime.fromtimestamp({INSTANT.timestamp()}, datetime.timezone.utc)
clock = lambda remove_tzinfo=True: instant.replace(tzinfo=None) if remove_tzinfo else instant
botocore.auth.get_current_datetime = clock
try:
    import botocore.crt.auth
    botocore.crt.auth.get_current_datetime = clock
except ImportError:
    pass
urls = []
for region in sys.argv[1:]:
    client = botocore.session.Session().create_client(
        "sts", region_name=region, aws_access_key_id={KEY!r},
        aws_secret_access_key={SECRET!r}, aws_session_token={TOKEN!r})
    client.meta.events.register("before-sign.sts.GetCallerIdentity",
        lambda request, **_: request.headers.__setitem__("x-k8s-aws-id", "prod"))
    urls.append(client.generate_presigned_url("get_caller_identity", ExpiresIn=60,
                                              HttpMethod="GET"))
print(json.dumps(urls))
"""


def botocore_urls(crt: bool) -> list[str]:
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if not crt:
        env["BOTO_DISABLE_CRT"] = "true"
    result = subprocess.run([sys.executable, "-c", BOTOCORE_PRESIGN, *REGIONS], env=env,
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


def ours(region: str) -> str:
    from xaccount_credproc.credentials import Credentials
    from xaccount_credproc.eks import token as eks_token

    value, _ = eks_token.token(Credentials(KEY, SECRET, TOKEN, 2 ** 31), "prod", region,
                               now=INSTANT.timestamp())
    return base64.urlsafe_b64decode(value[11:] + "==").decode()


def test_the_presigned_url_is_botocores_byte_for_byte(monkeypatch):
    """The same request signed by botocore's own presigner (SigV4QueryAuth, with the header
    the AWS CLI's `eks get-token` adds) at the same instant: the same URL, byte for byte, in
    every partition; and botocore's awscrt signer signs it the same (it only writes two
    parameters in another order)."""
    for variable in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    mine = [ours(region) for region in REGIONS]
    assert mine == botocore_urls(crt=False)
    import importlib.util

    if importlib.util.find_spec("awscrt") is not None:
        for url, theirs in zip(mine, botocore_urls(crt=True), strict=True):
            assert sorted(urlsplit(url).query.split("&")) == \
                sorted(urlsplit(theirs).query.split("&"))


def test_the_sts_endpoint_variables_are_honoured_as_botocore_honours_them(monkeypatch):
    from xaccount_credproc.eks.token import sts_endpoint

    monkeypatch.delenv("AWS_ENDPOINT_URL_STS", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert sts_endpoint("eu-west-1") == "http://127.0.0.1:9"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:8")
    assert sts_endpoint("eu-west-1") == "http://127.0.0.1:8"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert sts_endpoint("eu-west-1") == "https://sts.eu-west-1.amazonaws.com"


def test_12_parallel_kubectl_calls_cold_without_a_terminal_make_one_assume_role(
        eks, desktop):
    """kubectl started twelve times at once by a tool with no terminal, nothing cached: one
    MFA dialog, one AssumeRole, every call answered."""
    world, server = eks
    assert world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster", "prod",
                     "--region", REGION).returncode == 0
    text = world.toml.read_text().replace(world.mfa_process_line(), "")
    world.write_toml(text)
    assert world.run("clear", "--all").returncode == 0
    world.env.update(desktop.env)
    before = len(world.sts.calls_of("AssumeRole"))
    procs = [subprocess.Popen([kubectl(), "get", "--raw", "/apis/xcp.test/v1/whoami"],
                              env=world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
             for _ in range(12)]
    window = desktop.wait_for_window("MFA code for profile prod-read-only")
    time.sleep(1)
    assert len(desktop.windows("MFA code for profile prod-read-only")) == 1
    desktop.type_into(window, world.code())
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert json.loads(out)["username"] == "dev-readonly"
    assert len(world.sts.calls_of("AssumeRole")) == before + 1
    assert [c.params.get("SerialNumber") for c in world.sts.calls_of("GetSessionToken")][-1] \
        == MFA_SERIAL


# -- bad input, one line each ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["-prod", "prod cluster", "x" * 101, "prød"])
def test_a_cluster_name_that_is_not_one(eks, name):
    world, _ = eks
    for argv in (("eks-token", "--profile", "prod-read-only", f"--cluster={name}"),
                 ("eks", "kubeconfig", "--profile", "prod-read-only", f"--cluster={name}")):
        failure_line(world.run(*argv), "is not an EKS cluster name", code=2)
    assert not (world.root / "kube" / "config").exists()


def test_a_profile_with_no_role_is_one_line(eks):
    world, _ = eks
    failure_line(world.run("eks-token", "--profile", "dev", "--cluster", "prod"),
                 "profile 'dev' is not in", code=2)


def test_an_unreadable_kubeconfig_is_one_line_and_nothing_is_written(eks):
    world, _ = eks
    (world.root / "kube" / "config").mkdir(parents=True)
    failure_line(world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster",
                           "prod", "--region", REGION),
                 "is not a regular file: nothing was written")


def test_a_kubeconfig_that_is_not_yaml_is_left_alone(eks):
    world, _ = eks
    config = world.root / "kube" / "config"
    config.parent.mkdir()
    config.write_text("clusters: [unclosed\nusers:\n")
    failure_line(world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster",
                           "prod", "--region", REGION), "is not YAML", "nothing was written",
                 code=2)
    assert config.read_text() == "clusters: [unclosed\nusers:\n"


def test_an_unknown_cluster_and_a_refused_describe_are_one_line(eks):
    world, _ = eks
    failure_line(world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster",
                           "nosuch", "--region", REGION),
                 "there is no EKS cluster 'nosuch' in eu-west-1 of account 222222222222",
                 code=2)
    world.sts.eks_denied.add(ROLE_ARN)
    failure_line(world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster",
                           "prod", "--region", REGION),
                 f"profile 'prod-read-only' ({ROLE_ARN}) may not describe EKS cluster 'prod' "
                 "(AccessDeniedException)", "allow eks:DescribeCluster", code=3)
    assert not (world.root / "kube" / "config").exists()


def test_dry_run_prints_and_writes_nothing(eks):
    world, _ = eks
    result = world.run("eks", "kubeconfig", "--profile", "prod-read-only", "--cluster", "prod",
                       "--region", REGION, "--alias", "prod", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "current-context: prod\n" in result.stdout and "eks-token" in result.stdout
    assert not (world.root / "kube" / "config").exists()


def test_in_parallel_two_clusters_merge_into_one_file(eks):
    world, _ = eks
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda alias: world.run(
            "eks", "kubeconfig", "--profile", "prod-read-only", "--cluster", "prod",
            "--region", REGION, "--alias", alias), ["one", "two"]))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    contexts = [c["name"] for c in __import__("yaml").safe_load(
        (world.root / "kube" / "config").read_text())["contexts"]]
    assert sorted(contexts) == ["one", "two"]


def test_a_chained_role_gets_its_token_through_the_same_chain(eks):
    """eks-token resolves a profile as credential-process does: here a role assumed from
    another (a hub), each hop cached."""
    world, server = eks
    hub = "arn:aws:iam::666666666666:role/Hub"
    world.sts.add_role(hub)
    world.sts.add_role(ROLE_ARN.replace("DevReadOnly-CrossAccount", "Spoke"), trusts=(hub,))
    world.write_toml(world.toml.read_text() + f"""
[profiles.hub]
role_arn = "{hub}"
mfa_serial = ""

[profiles.spoke]
role_arn = "{ROLE_ARN.replace("DevReadOnly-CrossAccount", "Spoke")}"
source_profile = "hub"
mfa_serial = ""
""")
    result = world.run("eks-token", "--profile", "spoke", "--cluster", "prod", "--region",
                       REGION)
    assert result.returncode == 0, result.stderr
    token = json.loads(result.stdout)["status"]["token"]
    server.role_map[ROLE_ARN.replace("DevReadOnly-CrossAccount", "Spoke")] = "spoke-user"
    assert server.authenticate(f"Bearer {token}")["username"] == "spoke-user"
    hub_call, spoke_call = world.sts.calls_of("AssumeRole")[-2:]
    assert hub_call.params["RoleArn"] == hub
    assert world.sts.caller_arn(spoke_call.caller).startswith(
        "arn:aws:sts::666666666666:assumed-role/Hub/")
