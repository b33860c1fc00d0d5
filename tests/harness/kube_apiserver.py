"""A Kubernetes API server on 127.0.0.1 that authenticates bearer tokens as EKS does, through
aws-iam-authenticator's token verifier (kubernetes-sigs/aws-iam-authenticator, pkg/token), and
answers kubectl.

TLS only, with a CA of its own (client-go hands an exec plugin's token to an https server only;
REFERENCE.md). The rules of a token, with their sources (aws-iam-authenticator's Verify):
- the prefix `k8s-aws-v1.`, then the URL, base64url without padding;
- the URL: https, a host that is an STS endpoint (here: the test's STS emulator, the one
  exception to https, since it listens on plain HTTP on loopback), the path `/`, no query
  parameter but `Action`, `Version` and `X-Amz-*`, `Action=GetCallerIdentity`;
- `X-Amz-Expires` at most 60; `X-Amz-Date` within 15 minutes; `x-k8s-aws-id` among
  `X-Amz-SignedHeaders`;
- then the URL is called with `x-k8s-aws-id: <this cluster>` and `accept: application/json`:
  STS checks the signature (a token made for another cluster fails there), and its answer's ARN,
  an assumed role made its role's ARN, must be mapped to a user (aws-auth's mapRoles).
Each review is recorded (never the token).
"""

import base64
import datetime
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.harness import ports

PREFIX = "k8s-aws-v1."
ALLOWED = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
           "x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def canonical_arn(arn: str) -> str:
    """An assumed-role session's ARN as its role's (aws-iam-authenticator's Canonicalize)."""
    parts = arn.split(":")
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return arn


def make_ca_and_server_cert(directory: Path) -> tuple[Path, Path, str]:
    """(certificate chain file, key file, the CA as base64 PEM for certificate-authority-data)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xcp test cluster CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    chain = directory / "server.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    return chain, key_file, base64.b64encode(ca_pem).decode()


class KubeApiServer:
    def __init__(self, directory: Path, cluster: str, sts_url: str, role_map: dict[str, str]):
        self.cluster, self.role_map = cluster, role_map
        self.sts_netloc = urlsplit(sts_url).netloc
        chain, key, self.ca_data = make_ca_and_server_cert(directory)
        self.reviews: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urlsplit(self.path).path
                if path == "/version":
                    return self._json(200, {"major": "1", "minor": "32", "gitVersion":
                                            "v1.32.0", "platform": "linux/amd64"})
                user = server.authenticate(self.headers.get("Authorization", ""))
                if user is None:
                    return self._json(401, UNAUTHORIZED)
                if path == "/apis/xcp.test/v1/whoami":
                    return self._json(200, user)
                return self._json(404, {"kind": "Status", "apiVersion": "v1", "status":
                                        "Failure", "reason": "NotFound", "code": 404})

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ports.fresh(lambda: ThreadingHTTPServer(("127.0.0.1", 0), Handler),
                                  lambda server: server.server_port,
                                  lambda server: server.server_close())
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[dict]:
        with self.lock:
            return [r for r in self.reviews if r["ok"]]

    def authenticate(self, authorization: str) -> dict | None:
        review: dict = {"ok": False}
        try:
            user = self._verify(authorization, review)
            review.update(ok=True, username=user["username"])
            return user
        except ValueError as e:
            review["reason"] = str(e)
            return None
        finally:
            with self.lock:
                self.reviews.append(review)

    def _verify(self, authorization: str, review: dict) -> dict:
        token = authorization.removeprefix("Bearer ").strip()
        if not token.startswith(PREFIX):
            raise ValueError("token is missing expected \"k8s-aws-v1.\" prefix")
        encoded = token[len(PREFIX):]
        if "=" in encoded:
            raise ValueError("token is not base64url without padding")
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        parts = urlsplit(url)
        plain_ok = parts.netloc == self.sts_netloc  # the test's STS, plain HTTP on loopback
        if parts.scheme != "https" and not (plain_ok and parts.scheme == "http"):
            raise ValueError(f"unexpected scheme {parts.scheme!r} in pre-signed URL")
        if parts.netloc != self.sts_netloc:  # AWS's own STS hosts, in the real verifier
            raise ValueError(f"unexpected hostname {parts.hostname!r} in pre-signed URL")
        if parts.path != "/":
            raise ValueError("unexpected path in pre-signed URL")
        query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
        review["signed_headers"] = query.get("x-amz-signedheaders")
        if set(query) - ALLOWED:
            raise ValueError(f"non-whitelisted query parameters {sorted(set(query) - ALLOWED)}")
        if query.get("action", "").lower() != "getcalleridentity":
            raise ValueError("unexpected action parameter in pre-signed URL")
        if "x-k8s-aws-id" not in query.get("x-amz-signedheaders", "").split(";"):
            raise ValueError("client did not sign the x-k8s-aws-id header in the pre-signed URL")
        try:
            expires = int(query["x-amz-expires"])
            date = datetime.datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.UTC).timestamp()
        except (KeyError, ValueError):
            raise ValueError("X-Amz-Expires and X-Amz-Date are required") from None
        if expires > 60:
            raise ValueError("X-Amz-Expires parameter in pre-signed URL is greater than 60")
        if time.time() > date + 15 * 60:
            raise ValueError("X-Amz-Date parameter is expired (15 minute expiration)")
        review["expires"], review["date"] = expires, query["x-amz-date"]
        request = urllib.request.Request(url, headers={"x-k8s-aws-id": self.cluster,
                                                       "accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as e:
            raise ValueError(f"sts getCallerIdentity failed: error from AWS (expected 200, got)"
                             f" {e.code}") from None
        arn = body["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"]
        review["arn"] = arn
        username = self.role_map.get(canonical_arn(arn))
        if username is None:
            raise ValueError(f"ARN is not mapped: {canonical_arn(arn)}")
        return {"username": username, "arn": arn}
