"""AWS Sign-In on 127.0.0.1: what `aws login` talks to (the authorize page, the cross-device
confirmation page, CreateOAuth2Token), which moto does not serve.

botocore reaches it through its endpoint variable AWS_ENDPOINT_URL_SIGNIN, so the helper, the
real botocore (with awscrt) and the AWS CLI use it as they would AWS. The console credentials
it hands out are registered with the recording STS server (StsEmulator.add_login_key), so that
they sign AssumeRole there as the identity that signed in.

The rules it enforces, with their sources:
- The authorize request (AWS CLI, awscli/customizations/login/utils.py; RFC 6749 4.1.1, RFC
  7636 4.3): `response_type=code`, `client_id` one of the two devtools clients (the Sign-In
  service model's ClientId pattern), `state`, `code_challenge_method=SHA-256`, `scope=openid`,
  a 43-character base64url `code_challenge`, and a `redirect_uri`: a loopback
  `http://127.0.0.1:PORT/oauth/callback` for the same-device client (RFC 8252 7.3), this
  service's `/v1/sessions/confirmation` for the cross-device one. Anything else: a 400 page,
  never a redirect (RFC 6749 4.1.2.1: an invalid redirect URI is not redirected to).
- The person: who signs in next (`person`), with or without MFA; one who declines is sent back
  with `error=access_denied` (RFC 6749 4.1.2.1). With no person, the page waits forever.
- The cross-device confirmation page shows the verification code: base64 of
  `state=…&code=…` (the AWS CLI's parse_verification_code).
- CreateOAuth2Token (the Sign-In service model, `POST /v1/token`, rest-json: the body is the
  tokenInput structure, the answer the tokenOutput structure; errors as
  `x-amzn-ErrorType` + `{"error", "message"}`):
  - a DPoP proof in the `DPoP` header (RFC 9449 4.2, 4.3): a JWT typed `dpop+jwt`, ES256, the
    public key as a P-256 JWK, signed by it; `htm` POST, `htu` this URL without query (4.3
    check 9), `iat` within `iat_window` of now (4.3 check 11: "a reasonable window"; AWS's is
    not published), a `jti` never seen before (11.1). Otherwise 400 `invalid_dpop_proof`
    (RFC 9449 section 5; AWS's code for it is not published);
  - `authorization_code`: a code this service issued to that client, used once (RFC 6749
    4.1.2), within `code_lifetime` (RFC 6749 4.1.2 recommends at most 10 minutes) else
    AccessDeniedException AUTHCODE_EXPIRED (the model's OAuth2ErrorCode), the same
    `redirectUri` (the model: "must match exactly"), a `codeVerifier` of 43-128 characters of
    `[A-Za-z0-9-._~]` (the model) whose S256 is the challenge (RFC 7636 4.6); the login is
    bound to the proof's key (RFC 9449 5: refresh tokens of public clients are bound), and the
    answer has an `idToken` whose `sub` is the identity's ARN (the AWS CLI reads it);
  - `refresh_token`: a refresh token of this login, with a proof by the key the login is bound
    to, else `invalid_dpop_proof`; a used refresh token is refused (`invalid_grant`) when
    `refuse_used_refresh_tokens` (unpublished: the suite runs both ways); no `idToken` (the
    model);
  - the login ends `session_lifetime` after the sign-in (AWS Sign-In user guide: 12 hours):
    AccessDeniedException TOKEN_EXPIRED; after the identity's password or MFA changed:
    USER_CREDENTIALS_CHANGED; an identity without signin:CreateOAuth2Token (the managed policy
    SignInLocalDevelopmentAccess): INSUFFICIENT_PERMISSIONS (the model's codes; AWS Sign-In user
    guide);
  - `expiresIn` is 900 (the model: at most 900).
Every request is recorded without any token, code, verifier or proof. Every secret handed out
or seen (`ISSUED`) may be in one place only: the login token files (~/.aws/login/cache).
"""

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode

from tests.harness.json_endpoint import HttpEndpoint

SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
CROSS_DEVICE = "arn:aws:signin:::devtools/cross-device"
ALICE = "arn:aws:iam::111111111111:user/alice"
# Every token, code, verifier and key secret handed out or seen in this test session.
ISSUED: list[str] = []
VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _error(status: int, kind: str, error: str, message: str):
    return status, "application/json", json.dumps({"error": error, "message": message}).encode(), \
        {"x-amzn-ErrorType": kind}


def thumbprint(jwk: dict) -> str:
    """RFC 7638: the SHA-256 of the key's required members, in order, without spaces."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


class SignInEmulator(HttpEndpoint):
    def __init__(self, sts):
        self.sts = sts
        self.lock = threading.Lock()
        # Who signs in at the next authorize page: an ARN, whether with MFA, whether they
        # allow the CLI. None: nobody comes (the page never answers the browser).
        self.person: dict | None = {"arn": ALICE, "mfa": True, "allow": True}
        self.code_lifetime = 300
        self.access_lifetime = 900
        self.session_lifetime = 12 * 3600
        self.iat_window = 300
        self.refuse_used_refresh_tokens = True
        self.codes: dict[str, dict] = {}
        self.logins: dict[str, dict] = {}  # login id -> arn, key thumbprint, start, refresh tokens
        self.refresh_tokens: dict[str, dict] = {}  # token -> {"login": id, "used": bool}
        self.jtis: set[str] = set()
        self.credentials_changed: dict[str, float] = {}  # arn -> when
        self.without_permission: set[str] = set()  # ARNs lacking signin:CreateOAuth2Token
        self.requests: list[dict] = []
        self.answer_next: list[tuple] = []  # canned answers for the next token requests
        self.mute = threading.Event()  # set: token requests get no answer until cleared
        super().__init__()
        self.url = self.base_url

    # -- what the tests do ---------------------------------------------------------------------

    def token_calls(self, grant: str | None = None) -> list[dict]:
        return [r for r in self.requests if r["action"] == "CreateOAuth2Token"
                and (grant is None or r["grant"] == grant)]

    def log_in(self, arn: str = ALICE, mfa: bool = True, key_pem: str | None = None,
               access_left: float | None = None, started: float | None = None) -> dict:
        """What `aws login` leaves behind for `arn`: a token document, bound here to a fresh
        key (or `key_pem`), its credentials known to STS. `access_left`: seconds its access key
        has left (negative: expired)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        if key_pem is None:
            key = ec.generate_private_key(ec.SECP256R1())
            key_pem = key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()).decode()
        key = serialization.load_pem_private_key(key_pem.encode(), None)
        jwk = _jwk_of(key)
        with self.lock:
            login = self._new_login(arn, mfa, thumbprint(jwk), CROSS_DEVICE, started)
            output = self._issue(login, with_id_token=True, lifetime=access_left)
        now = time.time()
        left = self.access_lifetime if access_left is None else access_left
        return {
            "accessToken": {**output["accessToken"], "accountId": arn.split(":")[4],
                            "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                       time.gmtime(now + left))},
            "tokenType": "aws_sigv4", "clientId": CROSS_DEVICE,
            "refreshToken": output["refreshToken"], "idToken": output["idToken"],
            "dpopKey": key_pem}

    def end_login(self, arn: str = ALICE) -> None:
        """The 12 hours of every login of `arn` are over."""
        with self.lock:
            for login in self.logins.values():
                if login["arn"] == arn:
                    login["started"] -= self.session_lifetime + 1

    def change_credentials(self, arn: str = ALICE) -> None:
        """The identity's password or MFA device changed: its logins end."""
        self.credentials_changed[arn] = time.time()

    def rotations(self, arn: str = ALICE) -> int:
        """How many refresh tokens the logins of `arn` were given after their first."""
        return sum(len(login["tokens"]) - 1 for login in self.logins.values()
                   if login["arn"] == arn)

    # -- the wire ------------------------------------------------------------------------------

    def respond(self, method, url, headers, body):
        route = {("GET", "/v1/authorize"): "Authorize",
                 ("GET", "/v1/sessions/confirmation"): "Confirmation",
                 ("POST", "/v1/token"): "CreateOAuth2Token"}.get((method, url.path))
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            params = json.loads(body) if method == "POST" and body else {}
        except ValueError:
            params = {}
        record = {"action": route or f"{method} {url.path}",
                  "grant": params.get("grantType") if isinstance(params, dict) else None,
                  "client": (params.get("clientId") if isinstance(params, dict) else None)
                  or query.get("client_id"), "status": 0, "error": None}
        with self.lock:
            self.requests.append(record)
        if route == "CreateOAuth2Token":
            while self.mute.is_set():  # a service that took the request and never answers
                time.sleep(0.05)
        with self.lock:
            if route == "CreateOAuth2Token" and self.answer_next:
                answer = self.answer_next.pop(0)
            elif route is None:
                answer = _error(404, "ResourceNotFoundException", "RESOURCE_NOT_FOUND",
                                "no such API")
            else:
                answer = getattr(self, "_" + route)(params, query, headers, url)
        record["status"] = answer[0]
        if answer[0] >= 400 and answer[1] == "application/json":
            record["error"] = json.loads(answer[2]).get("error")
        return answer

    def _Authorize(self, params, query, headers, url):
        client = query.get("client_id")
        redirect = query.get("redirect_uri") or ""
        confirmation = f"{self.base_url}/v1/sessions/confirmation"
        loopback = re.fullmatch(r"http://127\.0\.0\.1:\d{1,5}/oauth/callback", redirect)
        if client not in (SAME_DEVICE, CROSS_DEVICE) or (
                client == SAME_DEVICE and not loopback) or (
                client == CROSS_DEVICE and redirect != confirmation):
            return 400, "text/html", b"<html><body>Invalid client or redirect URI</body></html>"
        challenge = query.get("code_challenge") or ""
        if query.get("response_type") != "code" or not query.get("state") \
                or query.get("code_challenge_method") != "SHA-256" \
                or query.get("scope") != "openid" \
                or not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge):
            return 400, "text/html", b"<html><body>Invalid authorization request</body></html>"
        person = self.person
        if person is None:
            return 200, "text/html", b"<html><body>Sign in to continue</body></html>"
        if not person["allow"]:
            target = f"{redirect}?{urlencode({'error': 'access_denied', 'state': query['state']})}"
            return 302, "text/html", b"", {"Location": target}
        code = "code" + secrets.token_urlsafe(30)
        ISSUED.append(code)
        self.codes[code] = {"client": client, "redirect": redirect, "challenge": challenge,
                            "arn": person["arn"], "mfa": person["mfa"],
                            "expires": time.time() + self.code_lifetime}
        target = f"{redirect}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, "text/html", b"", {"Location": target}

    def _Confirmation(self, params, query, headers, url):
        if not query.get("code") or not query.get("state"):
            return 400, "text/html", b"<html><body>Nothing to confirm</body></html>"
        shown = base64.b64encode(urlencode({"state": query["state"],
                                            "code": query["code"]}).encode()).decode()
        ISSUED.append(shown)
        page = ("<html><body><p>Enter this code in the CLI:</p>"
                f"<code id='verification-code'>{shown}</code></body></html>")
        return 200, "text/html", page.encode()

    def _CreateOAuth2Token(self, params, query, headers, url):
        if not isinstance(params, dict):
            return _error(400, "ValidationException", "invalid_request", "the body is not JSON")
        if params.get("codeVerifier"):
            ISSUED.append(params["codeVerifier"])
        client, grant = params.get("clientId"), params.get("grantType")
        if client not in (SAME_DEVICE, CROSS_DEVICE) or grant not in ("authorization_code",
                                                                      "refresh_token"):
            return _error(400, "ValidationException", "invalid_request",
                          "clientId or grantType is not one this service takes")
        key, problem = self._proof(headers.get("DPoP"), f"{self.base_url}/v1/token")
        if problem:
            return _error(400, "ValidationException", "invalid_dpop_proof", problem)
        if grant == "authorization_code":
            return self._redeem(params, client, key)
        return self._refresh(params, client, key)

    def _proof(self, proof, url) -> tuple[str | None, str | None]:
        """(the proof's key thumbprint, None) or (None, what is wrong)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        parts = (proof or "").split(".")
        if len(parts) != 3:
            return None, "no DPoP proof"
        try:
            header, claims = (json.loads(_unb64url(p)) for p in parts[:2])
            signature = _unb64url(parts[2])
            jwk = header["jwk"]
            if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256" \
                    or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
                return None, "the proof is not an ES256 dpop+jwt with a public P-256 JWK"
            public = ec.EllipticCurvePublicNumbers(
                int.from_bytes(_unb64url(jwk["x"]), "big"),
                int.from_bytes(_unb64url(jwk["y"]), "big"), ec.SECP256R1()).public_key()
            if len(signature) != 64:
                return None, "the proof's signature is not r || s"
            public.verify(encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                               int.from_bytes(signature[32:], "big")),
                          f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return None, "the proof's signature does not verify with its key"
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, "the proof cannot be read"
        if claims.get("htm") != "POST" or claims.get("htu") != url:
            return None, "the proof is for another request"
        if not isinstance(claims.get("iat"), int) or abs(claims["iat"] - time.time()) \
                > self.iat_window:
            return None, "the proof's iat is outside the accepted window"
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or jti in self.jtis:
            return None, "the proof's jti was used before"
        self.jtis.add(jti)
        return thumbprint(jwk), None

    def _new_login(self, arn, mfa, key, client, started=None) -> str:
        login = secrets.token_hex(8)
        self.logins[login] = {"arn": arn, "mfa": mfa, "key": key, "client": client,
                              "started": time.time() if started is None else started,
                              "tokens": []}
        return login

    def _ended(self, login: dict):
        if login["started"] + self.session_lifetime < time.time():
            return _error(400, "AccessDeniedException", "TOKEN_EXPIRED",
                          "The session has expired; sign in again")
        if self.credentials_changed.get(login["arn"], 0) > login["started"]:
            return _error(400, "AccessDeniedException", "USER_CREDENTIALS_CHANGED",
                          "The user's credentials changed; sign in again")
        if login["arn"] in self.without_permission:
            return _error(400, "AccessDeniedException", "INSUFFICIENT_PERMISSIONS",
                          "The identity is not authorized to perform signin:CreateOAuth2Token")
        return None

    def _redeem(self, params, client, key):
        code = self.codes.pop(params.get("code") or "", None)
        verifier = params.get("codeVerifier") or ""
        if code is None or code["client"] != client:
            return _error(400, "AccessDeniedException", "invalid_grant",
                          "unknown or used authorization code")
        if code["expires"] < time.time():
            return _error(400, "AccessDeniedException", "AUTHCODE_EXPIRED",
                          "The authorization code has expired")
        if params.get("redirectUri") != code["redirect"]:
            return _error(400, "ValidationException", "invalid_grant",
                          "redirectUri does not match the authorization request")
        if not VERIFIER_RE.fullmatch(verifier) or _b64url(
                hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
            return _error(400, "ValidationException", "invalid_grant",
                          "the code verifier does not match the challenge")
        if code["arn"] in self.without_permission:
            return self._ended({"arn": code["arn"], "started": time.time()})
        login = self._new_login(code["arn"], code["mfa"], key, client)
        return self._json(self._issue(login, with_id_token=True))

    def _refresh(self, params, client, key):
        token = self.refresh_tokens.get(params.get("refreshToken") or "")
        if token is None:
            return _error(400, "AccessDeniedException", "invalid_grant",
                          "unknown refresh token")
        login = self.logins[token["login"]]
        if login["client"] != client:
            return _error(400, "AccessDeniedException", "invalid_client",
                          "the refresh token belongs to another client")
        if key != login["key"]:
            return _error(400, "ValidationException", "invalid_dpop_proof",
                          "the proof's key is not the key this login is bound to")
        ended = self._ended(login)
        if ended:
            return ended
        if token["used"] and self.refuse_used_refresh_tokens:
            return _error(400, "AccessDeniedException", "invalid_grant",
                          "the refresh token was used before")
        token["used"] = True
        return self._json(self._issue(token["login"], with_id_token=False))

    def _issue(self, login_id: str, with_id_token: bool, lifetime: float | None = None) -> dict:
        login = self.logins[login_id]
        key_id = "ASIA" + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        session_token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(300)
        refresh = "rt" + secrets.token_urlsafe(200)
        ISSUED.extend([secret, session_token, refresh])
        left = self.access_lifetime if lifetime is None else lifetime
        self.sts.add_login_key(key_id, secret, session_token, login["arn"], time.time() + left,
                               login["mfa"])
        self.refresh_tokens[refresh] = {"login": login_id, "used": False}
        login["tokens"].append(refresh)
        output = {"accessToken": {"accessKeyId": key_id, "secretAccessKey": secret,
                                  "sessionToken": session_token},
                  "tokenType": "aws_sigv4", "expiresIn": self.access_lifetime,
                  "refreshToken": refresh}
        if with_id_token:
            now = int(time.time())
            claims = {"sub": login["arn"], "iss": self.base_url, "aud": login["client"],
                      "iat": now, "auth_time": int(login["started"]), "exp": now + 900}
            output["idToken"] = ".".join(
                _b64url(json.dumps(part).encode()) for part in
                ({"alg": "ES256", "typ": "JWT"}, claims)) + "." + _b64url(b"\0" * 64)
        return output

    @staticmethod
    def _json(body: dict):
        return 200, "application/json", json.dumps(body).encode()


def _jwk_of(key) -> dict:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big"))}


def key_secrets(pem: str) -> list[str]:
    """The secret parts of a PEM key as the secret scan looks for them: each line of its
    base64 body."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]
