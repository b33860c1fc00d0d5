"""An EKS token, as `aws eks get-token` and aws-iam-authenticator make it: `k8s-aws-v1.` and
the base64url (unpadded) of a SigV4-presigned STS GetCallerIdentity, GET, with the cluster's
name in the signed `x-k8s-aws-id` header, valid 60 s to present, at the STS endpoint the
profile uses; the API server accepts it for 15 minutes after its X-Amz-Date, so kubectl is told
it expires after 14 (the AWS CLI's figure). It comes in an ExecCredential of the apiVersion
kubectl asks for in KUBERNETES_EXEC_INFO (v1beta1 without it).

On the token's hit path: no json, no botocore, no hashlib (sigv4.py).
"""

import time

from .. import dns_suffix
from .. import environ as env
from ..credentials import Credentials, json_string
from . import sigv4

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
URL_EXPIRES = 60  # seconds to present the URL (aws-iam-authenticator refuses more)
TOKEN_LIFETIME = 14 * 60  # what kubectl is told; the API server takes 15 minutes
API_GROUP = "client.authentication.k8s.io/"
API_VERSIONS = ("v1", "v1beta1", "v1alpha1")
DEFAULT_API_VERSION = API_GROUP + "v1beta1"
# EKS's rule for a cluster's name (CreateCluster API reference).
NAME_MAX = 100
NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def valid_cluster_name(name: str) -> bool:
    return 0 < len(name) <= NAME_MAX and name[0].isascii() and name[0].isalnum() \
        and all(c in NAME_CHARS for c in name)


def sts_endpoint(region: str) -> str:
    """Where botocore would send this region's STS calls: AWS_ENDPOINT_URL_STS, else
    AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else the regional endpoint
    of the region's partition."""
    if (env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or "").lower() != "true":
        for variable in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"):
            value = env(variable)
            if value:
                return value
    return f"https://sts.{region}.{dns_suffix(region)}"


def api_version() -> str:
    """The ExecCredential apiVersion kubectl asked for (KUBERNETES_EXEC_INFO), read without a
    JSON parser: the group and one of its versions, or v1beta1."""
    info = env("KUBERNETES_EXEC_INFO") or ""
    for version in API_VERSIONS:
        if f'"{API_GROUP}{version}"' in info:
            return API_GROUP + version
    return DEFAULT_API_VERSION


def token(credentials: Credentials, cluster: str, region: str,
          now: float | None = None) -> tuple[str, int]:
    """(the token, when kubectl must ask again: epoch seconds)."""
    import binascii

    moment = time.time() if now is None else now
    url = sigv4.presign_get(
        sts_endpoint(region), [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        {CLUSTER_HEADER: cluster}, credentials.access_key_id, credentials.secret_access_key,
        credentials.session_token, region, "sts", URL_EXPIRES,
        time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(moment)))
    encoded = binascii.b2a_base64(url.encode("utf-8"), newline=False).decode("ascii")
    encoded = encoded.replace("+", "-").replace("/", "_").rstrip("=")
    # Never past the credentials that signed it (a hit serves them with far more left).
    return TOKEN_PREFIX + encoded, int(min(moment + TOKEN_LIFETIME, credentials.expiration))


def exec_credential(value: str, expires: int, version: str | None = None) -> str:
    """The ExecCredential kubectl reads on stdout."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
    return ('{"kind": "ExecCredential", "apiVersion": ' + json_string(version or api_version())
            + ', "spec": {}, "status": {"expirationTimestamp": ' + json_string(stamp)
            + ', "token": ' + json_string(value) + "}}")
