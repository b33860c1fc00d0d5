"""A stand-in for IAM Identity Center's portal API (GetRoleCredentials) on 127.0.0.1.

moto does not serve the portal API. botocore's own SSO credential provider reaches this one
through AWS_ENDPOINT_URL_SSO: `GET /federation/credentials?account_id=…&role_name=…` with the
bearer token from the SSO token cache in `x-amz-sso_bearer_token`. A known, unexpired token gets
fresh role credentials, which are registered with the recording STS server so that they can sign
AssumeRole there (as the AWSReservedSSO role of that account); anything else gets the portal's
UnauthorizedException. Each request is recorded without its token.
"""

import hashlib
import json
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs

from tests.harness.json_endpoint import JsonEndpoint

START_URL = "https://corp.awsapps.com/start"


class SsoPortal(JsonEndpoint):
    def __init__(self, sts, user: str = "alice"):
        self.sts = sts
        self.user = user
        self.tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.requests: list[dict] = []
        super().__init__()
        self.url = self.base_url

    def log_in(self, home: Path, session_name: str, lifetime: float = 8 * 3600) -> str:
        """What `aws sso login` leaves behind: a token in the SSO cache (~/.aws/sso/cache),
        known to the portal. A negative lifetime leaves an expired one."""
        token = "aoa" + secrets.token_urlsafe(40)
        expires = time.time() + lifetime
        self.tokens[token] = expires
        cache = home / ".aws" / "sso" / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(session_name.encode()).hexdigest() + ".json"  # noqa: S324 - botocore's
        (cache / name).write_text(json.dumps({
            "startUrl": START_URL, "region": "eu-west-1", "accessToken": token,
            "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}))
        return token

    def answer(self, url, headers):
        token = headers.get("x-amz-sso_bearer_token")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        record = {"path": url.path, "account_id": query.get("account_id"),
                  "role_name": query.get("role_name")}
        self.requests.append(record)
        if url.path != "/federation/credentials" or token is None:
            return 400, {"message": "bad request"}
        if self.tokens.get(token, 0) < time.time():
            return 401, {"message": "Session token not found or invalid"}
        key = "ASIA" + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        session_token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(300)
        expires = time.time() + 3600
        arn = (f"arn:aws:sts::{record['account_id']}:assumed-role/"
               f"AWSReservedSSO_{record['role_name']}_0123456789abcdef/{self.user}")
        self.sts.add_session_key(key, secret, session_token, arn, expires)
        return 200, {"roleCredentials": {"accessKeyId": key, "secretAccessKey": secret,
                                         "sessionToken": session_token,
                                         "expiration": int(expires * 1000)}}
