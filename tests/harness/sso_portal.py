"""IAM Identity Center on 127.0.0.1: the OIDC service (`sso-oidc`: RegisterClient,
StartDeviceAuthorization, CreateToken, the authorize page) and the portal (`sso`:
GetRoleCredentials, ListAccounts, ListAccountRoles, Logout), which moto does not serve.

botocore reaches it through its standard endpoint variables, AWS_ENDPOINT_URL_SSO_OIDC and
AWS_ENDPOINT_URL_SSO (one server: the paths differ), so the real boto3 and the real `aws` CLI use
it as they would AWS. Role credentials it hands out are registered with the recording STS server,
so that they can sign AssumeRole there (as the AWSReservedSSO role of that account).

The rules it enforces, with their sources:
- RegisterClient: a public client; the registration (clientId, clientSecret) expires after
  `registration_lifetime` (AWS: 90 days); an authorization code grant needs a redirect URI
  (SSO OIDC API reference, RegisterClient).
- StartDeviceAuthorization needs a registered, unexpired client and the session's start URL; the
  device code lives `device_lifetime` seconds (AWS: 600) and is polled no faster than `interval`
  (AWS: 1 s): faster is `slow_down`, before approval `authorization_pending`, after its life
  `expired_token` (RFC 8628 section 3.5; SSO OIDC API reference, CreateToken errors).
- The authorization code grant (RFC 6749 4.1 with PKCE, RFC 7636): the authorize page takes the
  client, a registered redirect URI, `state` and an S256 `code_challenge`; the code is used once,
  within 60 s, with the same redirect URI and the verifier whose SHA-256 is the challenge
  (otherwise `invalid_grant`).
- The refresh token grant: a known refresh token of the same client, not revoked by Logout; it
  is rotated (a used refresh token is refused), as AWS may rotate it.
- The portal takes an unexpired access token in `x-amz-sso_bearer_token` (else 401
  UnauthorizedException); an account or role not assigned is 403 ForbiddenException; lists are
  paginated by `max_result` / `next_token` (SSO portal API reference).
Each request is recorded without any token, code or secret.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.harness.json_endpoint import HttpEndpoint

START_URL = "https://corp.awsapps.com/start"
# Every token, client secret and code handed out in this test session, for the secret scan.
ISSUED: list[str] = []
SCOPE = "sso:account:access"


THROTTLED = (429, "application/json", b'{"message": "Rate exceeded"}',
             {"x-amzn-ErrorType": "TooManyRequestsException"})


def _error(status: int, kind: str, code: str | None = None, text: str = ""):
    """An error as the rest-json services send it: the type in a header, OAuth's `error`."""
    body = {"error": code or kind, "error_description": text, "message": text}
    return status, "application/json", json.dumps(body).encode(), {"x-amzn-ErrorType": kind}


def _same_loopback_uri(asked: str, registered: str) -> bool:
    """A loopback redirect URI matches its registration on any port (RFC 8252 7.3)."""
    a, r = urlsplit(asked), urlsplit(registered)
    return (a.scheme, a.hostname, a.path) == (r.scheme, r.hostname, r.path) and \
        a.hostname == "127.0.0.1" and not a.query


class SsoPortal(HttpEndpoint):
    def __init__(self, sts, user: str = "alice", start_url: str = START_URL):
        self.sts = sts
        self.user = user
        self.start_url = start_url
        self.lock = threading.Lock()
        self.registration_lifetime = 90 * 86400
        self.device_lifetime = 600
        self.interval = 1
        self.access_lifetime = 8 * 3600
        self.clients: dict[str, dict] = {}
        self.devices: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> client id
        self.assignments: dict[str, tuple[str, list[str]]] = {
            "111111111111": ("corp-dev", ["Developer", "ReadOnly"])}
        self.requests: list[dict] = []
        self.answer_next: list[tuple] = []  # canned answers for the next requests (500, HTML)
        self.page_limit = 1000  # the most items a list page holds, whatever the client asks
        super().__init__()
        self.url = self.base_url

    # -- what the tests do ---------------------------------------------------------------------

    def log_in(self, home: Path, session_name: str, lifetime: float = 8 * 3600) -> str:
        """What `aws sso login` leaves behind: a token in the SSO cache (~/.aws/sso/cache),
        known to the portal. A negative lifetime leaves an expired one."""
        token = "aoa" + secrets.token_urlsafe(40)
        ISSUED.append(token)
        expires = time.time() + lifetime
        self.tokens[token] = expires
        cache = home / ".aws" / "sso" / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(session_name.encode()).hexdigest() + ".json"  # noqa: S324 - botocore's
        (cache / name).write_text(json.dumps({
            "startUrl": self.start_url, "region": "eu-west-1", "accessToken": token,
            "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}))
        return token

    def approve(self, user_code: str) -> None:
        """The person approves the device whose code the terminal showed."""
        with self.lock:
            for device in self.devices.values():
                if device["user_code"] == user_code:
                    device["approved"] = True
                    return
        raise AssertionError(f"no device authorization shows {user_code}")

    def pending_user_codes(self) -> list[str]:
        with self.lock:
            return [d["user_code"] for d in self.devices.values() if not d["approved"]]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = time.time() - 1

    def calls(self, action: str) -> list[dict]:
        return [r for r in self.requests if r["action"] == action]

    # -- the wire ------------------------------------------------------------------------------

    ROUTES = {("POST", "/client/register"): "RegisterClient",
              ("POST", "/device_authorization"): "StartDeviceAuthorization",
              ("POST", "/token"): "CreateToken", ("GET", "/authorize"): "Authorize",
              ("GET", "/federation/credentials"): "GetRoleCredentials",
              ("GET", "/assignment/accounts"): "ListAccounts",
              ("GET", "/assignment/roles"): "ListAccountRoles", ("POST", "/logout"): "Logout"}

    def respond(self, method, url, headers, body):
        action = self.ROUTES.get((method, url.path))
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        params = json.loads(body or b"{}") if method == "POST" and body else {}
        record = {"action": action or f"{method} {url.path}", "grant": params.get("grantType"),
                  "account_id": query.get("account_id"), "role_name": query.get("role_name")}
        with self.lock:
            self.requests.append(record)
            if self.answer_next:
                return self.answer_next.pop(0)
            if action is None:
                return _error(404, "ResourceNotFoundException", text="no such API")
            handler = getattr(self, "_" + action)
            return handler(params, query, headers)

    @staticmethod
    def _json(body: dict, status: int = 200):
        return status, "application/json", json.dumps(body).encode()

    # -- OIDC ----------------------------------------------------------------------------------

    def _RegisterClient(self, params, query, headers):
        grants = params.get("grantTypes") or []
        if "authorization_code" in grants and not params.get("redirectUris"):
            return _error(400, "InvalidRequestException", "invalid_request",
                          "authorization_code needs redirectUris")
        client_id = "cid" + secrets.token_urlsafe(16)
        secret = "csecret" + secrets.token_urlsafe(60)
        expires = int(time.time() + self.registration_lifetime)
        ISSUED.append(secret)
        self.clients[client_id] = {"secret": secret, "expires": expires, "grants": grants,
                                   "redirects": params.get("redirectUris") or [],
                                   "scopes": params.get("scopes") or []}
        return self._json({"clientId": client_id, "clientSecret": secret,
                           "clientIdIssuedAt": int(time.time()),
                           "clientSecretExpiresAt": expires})

    def _client(self, params):
        client = self.clients.get(params.get("clientId"))
        if client is None or client["secret"] != params.get("clientSecret"):
            return None, _error(401, "InvalidClientException", "invalid_client",
                                "unknown client or wrong secret")
        if client["expires"] < time.time():
            return None, _error(401, "InvalidClientException", "invalid_client",
                                "the client registration has expired")
        return client, None

    def _StartDeviceAuthorization(self, params, query, headers):
        _, refused = self._client(params)
        if refused:
            return refused
        if params.get("startUrl") != self.start_url:
            return _error(400, "InvalidRequestException", "invalid_request", "unknown startUrl")
        device_code = "dc" + secrets.token_urlsafe(40)
        user_code = f"{secrets.randbelow(10**4):04d}-{secrets.randbelow(10**4):04d}"
        ISSUED.append(device_code)
        self.devices[device_code] = {"client": params["clientId"], "user_code": user_code,
                                     "approved": False, "last_poll": 0.0,
                                     "expires": time.time() + self.device_lifetime}
        verification = f"{self.start_url.rsplit('/start', 1)[0]}/start/#/device"
        return self._json({"deviceCode": device_code, "userCode": user_code,
                           "verificationUri": verification,
                           "verificationUriComplete": f"{verification}?user_code={user_code}",
                           "expiresIn": self.device_lifetime, "interval": self.interval})

    def _issue(self, client_id: str) -> tuple:
        access = "aoa" + secrets.token_urlsafe(60)
        refresh = "aor" + secrets.token_urlsafe(60)
        ISSUED.extend([access, refresh])
        self.tokens[access] = time.time() + self.access_lifetime
        self.refresh_tokens[refresh] = client_id
        return self._json({"accessToken": access, "tokenType": "Bearer",
                           "expiresIn": self.access_lifetime, "refreshToken": refresh})

    def _CreateToken(self, params, query, headers):
        _, refused = self._client(params)
        if refused:
            return refused
        grant = params.get("grantType")
        now = time.time()
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            device = self.devices.get(params.get("deviceCode") or "")
            if device is None or device["client"] != params["clientId"]:
                return _error(400, "InvalidGrantException", "invalid_grant", "unknown device")
            if device["expires"] < now:
                return _error(400, "ExpiredTokenException", "expired_token",
                              "the device code has expired")
            too_soon = now - device["last_poll"] < self.interval - 0.05
            device["last_poll"] = now
            if too_soon:
                return _error(400, "SlowDownException", "slow_down", "polling too fast")
            if not device["approved"]:
                return _error(400, "AuthorizationPendingException", "authorization_pending",
                              "not approved yet")
            del self.devices[params["deviceCode"]]
            return self._issue(params["clientId"])
        if grant == "authorization_code":
            code = self.codes.pop(params.get("code") or "", None)
            verifier = params.get("codeVerifier") or ""
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (code is None or code["client"] != params["clientId"] or code["expires"] < now
                    or code["redirect"] != params.get("redirectUri")
                    or code["challenge"] != challenge):
                return _error(400, "InvalidGrantException", "invalid_grant",
                              "invalid authorization code, redirect URI or verifier")
            return self._issue(params["clientId"])
        if grant == "refresh_token":
            owner = self.refresh_tokens.pop(params.get("refreshToken") or "", None)
            if owner != params["clientId"]:
                return _error(400, "InvalidGrantException", "invalid_grant",
                              "the refresh token is unknown, used or revoked")
            return self._issue(params["clientId"])
        return _error(400, "UnsupportedGrantTypeException", "unsupported_grant_type", grant or "")

    def _Authorize(self, params, query, headers):
        """The page the browser opens. The person is signed in to the portal already and
        approves at once: the browser is sent back to the client's loopback redirect URI."""
        client = self.clients.get(query.get("client_id") or "")
        redirect = query.get("redirect_uri") or ""
        if client is None or "authorization_code" not in client["grants"] \
                or not any(_same_loopback_uri(redirect, r) for r in client["redirects"]):
            return 400, "text/html", b"<html><body>Invalid client or redirect URI</body></html>"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge") \
                or not query.get("state") or query.get("response_type") != "code":
            return 400, "text/html", b"<html><body>Invalid authorization request</body></html>"
        code = "code" + secrets.token_urlsafe(30)
        ISSUED.append(code)
        self.codes[code] = {"client": query["client_id"], "redirect": redirect,
                            "challenge": query["code_challenge"], "expires": time.time() + 60}
        target = f"{redirect}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, "text/html", b"", {"Location": target}

    # -- the portal ----------------------------------------------------------------------------

    def _bearer(self, headers):
        token = headers.get("x-amz-sso_bearer_token")
        if token is None or self.tokens.get(token, 0) < time.time():
            return _error(401, "UnauthorizedException", text="Session token not found or invalid")
        return None

    def _GetRoleCredentials(self, params, query, headers):
        refused = self._bearer(headers)
        if refused:
            return refused
        account, role = query.get("account_id"), query.get("role_name")
        if account not in self.assignments or role not in self.assignments[account][1]:
            return _error(403, "ForbiddenException", text="No access")
        key = "ASIA" + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        session_token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(300)
        expires = time.time() + 3600
        arn = (f"arn:aws:sts::{account}:assumed-role/"
               f"AWSReservedSSO_{role}_0123456789abcdef/{self.user}")
        self.sts.add_session_key(key, secret, session_token, arn, expires)
        return self._json({"roleCredentials": {"accessKeyId": key, "secretAccessKey": secret,
                                               "sessionToken": session_token,
                                               "expiration": int(expires * 1000)}})

    def _page(self, items: list, query) -> tuple[list, str | None]:
        size = min(int(query.get("max_result") or 20), self.page_limit)
        start = int(query.get("next_token") or 0)
        more = str(start + size) if start + size < len(items) else None
        return items[start:start + size], more

    def _ListAccounts(self, params, query, headers):
        refused = self._bearer(headers)
        if refused:
            return refused
        accounts = [{"accountId": a, "accountName": name, "emailAddress": f"{name}@example.com"}
                    for a, (name, _) in sorted(self.assignments.items())]
        page, more = self._page(accounts, query)
        return self._json({"accountList": page, **({"nextToken": more} if more else {})})

    def _ListAccountRoles(self, params, query, headers):
        refused = self._bearer(headers)
        if refused:
            return refused
        account = query.get("account_id")
        if account not in self.assignments:
            return _error(403, "ForbiddenException", text="No access")
        roles = [{"roleName": r, "accountId": account} for r in self.assignments[account][1]]
        page, more = self._page(roles, query)
        return self._json({"roleList": page, **({"nextToken": more} if more else {})})

    def _Logout(self, params, query, headers):
        token = headers.get("x-amz-sso_bearer_token")
        if token is None or token not in self.tokens:
            return _error(401, "UnauthorizedException", text="Session token not found or invalid")
        del self.tokens[token]
        # Logging out ends the whole session: its refresh tokens go too.
        self.refresh_tokens.clear()
        return 200, "application/json", b""
