"""Signing in to AWS with console credentials, as `aws login` does, and keeping the login
fresh, through botocore's `signin` client (never a hand-written HTTP call to AWS):

- same device (the default): authorization code with PKCE (RFC 7636, S256) through the one
  loopback listener (`http://127.0.0.1:PORT/oauth/callback`, RFC 8252 7.3), `state` checked,
  the authorize URL opened in the browser (or printed);
- cross device (`--remote`: SSH, containers): the URL printed, the person signs in anywhere
  and pastes back the verification code the confirmation page shows (base64 of
  `state=…&code=…`);
- either way the code is redeemed with CreateOAuth2Token and a DPoP proof (RFC 9449) made
  with a P-256 key made for this login (dpop.py), to which AWS binds the login;
- the refresh (`fresh_login`): under the login's lock, the token read again (the AWS CLI or
  botocore may have rotated the refresh token meanwhile), CreateOAuth2Token with the
  `refresh_token` grant and the login's own key, the result written back atomically: N
  callers, one refresh;
- logging out (the AWS CLI's `aws logout`: the token is removed).

Every call is unsigned and sent once: a refresh token is rotated when used, so a retry of a
request that reached AWS could spend it twice. Every wait is bounded (`login_timeout`, and
the connect and read time-outs).
"""

import base64
import hashlib
import secrets
import string
import sys
import time
import uuid

from ... import debug
from ...errors import AwsError, ConfigError, UserError
from ..sign_in import SIGN_IN, Ask, Elsewhere, LoginNeeded, Say, SignIn
from ..sso import timestamp
from . import (
    LOGIN_AT,
    REFRESH_MARGIN,
    SESSION_ARN,
    LoginSession,
    account_of,
    checked,
    seconds_left,
    subject_of,
)

SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
CROSS_DEVICE = "arn:aws:signin:::devtools/cross-device"
CALLBACK_PATH = "/oauth/callback"
VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"  # RFC 7636 4.1
VERIFIER_LENGTH = 64
TIMEOUT_ENV = "XACCOUNT_CREDPROC_LOGIN_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
CONNECT_TIMEOUT, READ_TIMEOUT = 3, 10
PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>xaccount-credproc</title>"
        b"</head><body><p>Signed in to AWS. You can close this window.</p></body></html>")
POLICY = "SignInLocalDevelopmentAccess"


def login_timeout() -> float:
    """How long a login waits for the person (the browser, the pasted code)."""
    from ...bounds import seconds_from_env

    return seconds_from_env(TIMEOUT_ENV, DEFAULT_TIMEOUT, 1, 3600, 600)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- AWS Sign-In through botocore ---------------------------------------------------------------


def signin_client(region: str | None):
    """botocore's `signin` client, unsigned, bounded, one attempt per call; its endpoint from
    the region's rule set, or AWS_ENDPOINT_URL_SIGNIN."""
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(signature_version=UNSIGNED, connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT, region_name=region or "us-east-1",
                    retries={"mode": "standard", "total_max_attempts": 1})
    return botocore.session.Session().create_client("signin", region_name=region or "us-east-1",
                                                    config=config)


class _Resolved(Exception):
    pass


def base_url(client) -> str:
    """The base of AWS Sign-In's URLs for this client: where botocore would send
    CreateOAuth2Token, without its path. Resolved by botocore's own endpoint rules; nothing is
    sent."""
    found: dict[str, str] = {}

    def capture(params, **_) -> None:
        found["url"] = params["url"]
        raise _Resolved

    event = "before-call.signin.CreateOAuth2Token"
    client.meta.events.register_first(event, capture, unique_id="xcp-base-url")
    try:
        client.create_o_auth2_token(tokenInput={"clientId": SAME_DEVICE,
                                                "grantType": "refresh_token",
                                                "refreshToken": "-"})
    except _Resolved:
        pass
    finally:
        client.meta.events.unregister(event, unique_id="xcp-base-url")
    return found["url"].split("?")[0].rsplit("/v1/token", 1)[0]


def create_token(login: LoginSession, client, key, token_input: dict, action: str) -> dict:
    """CreateOAuth2Token with a DPoP proof made with `key`; its tokenOutput, or a one-line
    error (LoginNeeded where only a person can help)."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    from . import dpop

    def add_proof(params, **_) -> None:
        params["headers"]["DPoP"] = dpop.proof(key, params["url"])

    client.meta.events.register("before-call.signin.CreateOAuth2Token", add_proof)
    where = f"AWS Sign-In ({_endpoint(client)})"
    try:
        answer = client.create_o_auth2_token(tokenInput=token_input)
    except bx.ClientError as e:
        raise _refused(login, e, where, action) from None
    except ResponseParserError:
        raise _not_an_answer(where, action) from None
    except bx.ReadTimeoutError:
        raise AwsError(f"{where} accepted the connection but did not answer {action} within "
                       f"{READ_TIMEOUT}s (sent once: a {_what(action)} is never sent twice)",
                       "try again later, or check the network, proxy settings and "
                       "AWS_ENDPOINT_URL_SIGNIN") from None
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError,
            bx.ProxyConnectionError) as e:
        raise AwsError(f"cannot reach {where} for {action} ({type(e).__name__})",
                       "check the network, proxy settings and AWS_ENDPOINT_URL_SIGNIN") \
            from None
    finally:
        client.meta.events.unregister("before-call.signin.CreateOAuth2Token", add_proof)
    output = answer.get("tokenOutput") if isinstance(answer, dict) else None
    if not isinstance(output, dict):
        raise _not_an_answer(where, action)
    access = output.get("accessToken")
    if not isinstance(access, dict) or not all(
            isinstance(access.get(k), str) and access.get(k)
            for k in ("accessKeyId", "secretAccessKey", "sessionToken")) \
            or not output.get("refreshToken") or not isinstance(output.get("expiresIn"), int):
        raise _not_an_answer(where, action)
    return output


def _endpoint(client) -> str:
    return str(getattr(client.meta, "endpoint_url", "") or "").rstrip("/")


def _what(action: str) -> str:
    return "refresh token" if "refresh" in action else "authorization code"


def _not_an_answer(where: str, action: str) -> AwsError:
    return AwsError(f"{where} answered {action} with something that is not an API response: a "
                    "proxy or captive portal in between?", "sign in to the network, or check "
                    "HTTPS_PROXY and AWS_ENDPOINT_URL_SIGNIN")


def _refused(login: LoginSession, e, where: str, action: str) -> UserError:
    """AWS Sign-In's refusal, in words: what happened, and what to do."""
    error = e.response.get("Error", {})
    code = error.get("Code", "Unknown")
    oauth = str(e.response.get("error") or "")
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    shown = oauth or code
    again = f"log in again: run {login.login_command}"
    if code == "Unknown" or code.isdigit():
        return AwsError(f"{where} answered {action} with HTTP {status}, not an API response: a "
                        "proxy or captive portal in between?", "sign in to the network, or "
                        "check HTTPS_PROXY and AWS_ENDPOINT_URL_SIGNIN")
    if oauth == "TOKEN_EXPIRED":
        return LoginNeeded(f"{login.label} has ended (TOKEN_EXPIRED: a login lasts 12 hours)",
                           again, SIGN_IN)
    if oauth == "USER_CREDENTIALS_CHANGED":
        return LoginNeeded(f"{login.label} has ended: the password or MFA of the identity "
                           "changed since it signed in (USER_CREDENTIALS_CHANGED)", again, SIGN_IN)
    if oauth == "AUTHCODE_EXPIRED":
        return LoginNeeded(f"the sign-in of {login.label} took too long: its authorization code "
                           "expired before it was redeemed (AUTHCODE_EXPIRED)",
                           "run the login again and finish it at once", SIGN_IN)
    if oauth == "INSUFFICIENT_PERMISSIONS":
        who = login.arn or "the identity that signed in"
        return AwsError(f"{who} may not use console credentials for the CLI: AWS Sign-In "
                        f"refused {action} (INSUFFICIENT_PERMISSIONS)", f"attach the AWS "
                        f"managed policy {POLICY} (signin:CreateOAuth2Token) to it, then "
                        f"{again}", aws_code=oauth)
    if oauth == "invalid_dpop_proof" or "dpop" in oauth.lower():
        return LoginNeeded(f"AWS Sign-In refused the proof of possession of {login.label} "
                           f"({oauth}): its dpopKey is not the key the login was bound to",
                           again, SIGN_IN)
    if "refresh" in action and (oauth in ("invalid_grant", "invalid_client")
                                or code == "AccessDeniedException"):
        return LoginNeeded(f"AWS Sign-In no longer accepts the refresh token of {login.label} "
                           f"({shown}): the login was revoked, or its token was used elsewhere",
                           again, SIGN_IN)
    if status is not None and status >= 500 or code in ("InternalServerException",
                                                        "TooManyRequestsError"):
        return AwsError(f"{where} failed {action} (HTTP {status}, {shown}; sent once: a "
                        f"{_what(action)} is never sent twice)", "try again in a moment",
                        aws_code=shown)
    return AwsError(f"{where} refused {action} for {login.label}: {shown}: "
                    f"{error.get('Message', '')}".rstrip(": "), again, aws_code=shown)


# -- a new login ---------------------------------------------------------------------------------


class _Pkce:
    """One authorization request's secrets: the verifier, its challenge, the state."""

    def __init__(self) -> None:
        self.verifier = "".join(secrets.choice(VERIFIER_ALPHABET)
                                for _ in range(VERIFIER_LENGTH))
        self.challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        self.state = str(uuid.uuid4())

    def authorize_url(self, base: str, client_id: str, redirect: str) -> str:
        from urllib.parse import urlencode

        query = {"response_type": "code", "client_id": client_id, "state": self.state,
                 "code_challenge_method": "SHA-256", "scope": "openid",
                 "redirect_uri": redirect, "code_challenge": self.challenge}
        return f"{base}/v1/authorize?{urlencode(query)}"


def same_device(login: LoginSession, browser: bool = True, say: Say = _say,
                elsewhere: Elsewhere | None = None, same_identity: bool = False) -> dict:
    """A login through the browser of this computer, coming back to the loopback listener.
    `same_identity`: the login must be of the ARN the session already has (a login started
    by a program, not by the person)."""
    from ...web import loopback
    from ...web.opener import open_url

    timeout = login_timeout()
    client = signin_client(login.region)
    pkce = _Pkce()
    came: dict[str, str] = {}

    def handle(query: dict[str, str]) -> tuple[loopback.Reply, bool]:
        if query.get("state") != pkce.state:
            return loopback.Reply(400, b"This sign-in is not the one being waited for."), False
        if query.get("error"):
            came["error"] = query["error"][:100]
        elif query.get("code"):
            came["code"] = query["code"]
        else:
            return loopback.Reply(400, b"No authorization code."), False
        return loopback.page(PAGE), True

    with loopback.Listener(CALLBACK_PATH, handle, "login callback") as callback:
        redirect = callback.url
        url = pkce.authorize_url(base_url(client), SAME_DEVICE, redirect)
        if browser and open_url(url):
            say(f"Opened the AWS sign-in page for {login.label} in your browser; waiting for "
                f"it (at most {timeout:g}s). If it did not open, open: {url}")
        else:
            say(f"Open this URL in a browser on this computer to sign in for {login.label} "
                f"(waiting at most {timeout:g}s): {url}")
        callback.wait(timeout, elsewhere=elsewhere)
        if callback.refused:
            say(f"warning: local {callback.refusals()} sent this sign-in's callback too and "
                "was refused (only your own browser is answered): someone on this machine "
                "reads other users' command lines")
    if "error" in came:
        raise LoginNeeded(f"the sign-in was not completed in the browser ({came['error']})",
                          "run the login again and allow access", SIGN_IN)
    if "code" not in came:
        done = elsewhere() if elsewhere is not None else None
        if done is not None:
            say(f"{login.label} was signed in another way meanwhile")
            return done
        raise LoginNeeded(f"the browser did not come back to {redirect} within {timeout:g}s",
                          "run the login again, or use --remote where the browser is on "
                          "another computer", SIGN_IN)
    return _redeem(login, client, SAME_DEVICE, came["code"], pkce, redirect, same_identity)


def cross_device(login: LoginSession, say: Say = _say, ask: Ask | None = None,
                 same_identity: bool = False) -> dict:
    """A login made in a browser anywhere: the URL shown, the verification code the
    confirmation page shows typed back (`ask`)."""
    client = signin_client(login.region)
    pkce = _Pkce()
    base = base_url(client)
    redirect = f"{base}/v1/sessions/confirmation"
    url = pkce.authorize_url(base, CROSS_DEVICE, redirect)
    say(f"Open this URL in a browser on any device and sign in for {login.label}; then enter "
        f"the verification code it shows: {url}")
    if ask is None:
        raise LoginNeeded(f"{login.label} needs a verification code typed back, and there is "
                          "no terminal here", f"run {login.login_command} in a terminal", SIGN_IN)
    code, state = parse_verification_code(ask("verification code"))
    if state != pkce.state:
        raise LoginNeeded("the verification code is of another sign-in (its state does not "
                          "match this one's)", "run the login again and paste the code the "
                          "page shows for this sign-in", SIGN_IN)
    return _redeem(login, client, CROSS_DEVICE, code, pkce, redirect, same_identity)


def parse_verification_code(text: str) -> tuple[str, str]:
    """(code, state) of what the confirmation page shows: base64 of `state=…&code=…`."""
    from urllib.parse import parse_qs

    cleaned = "".join((text or "").split())
    try:
        decoded = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        fields = {k: v[0] for k, v in parse_qs(decoded.decode("utf-8")).items()}
    except (ValueError, UnicodeDecodeError):
        fields = {}
    if not cleaned or not fields.get("code") or not fields.get("state"):
        raise LoginNeeded("that is not the verification code the sign-in page shows",
                          "run the login again and paste the whole code")
    return fields["code"], fields["state"]


def _redeem(login: LoginSession, client, client_id: str, code: str, pkce: _Pkce, redirect: str,
            same_identity: bool) -> dict:
    from . import dpop

    key = dpop.new_key()
    output = create_token(login, client, key, {
        "clientId": client_id, "grantType": "authorization_code", "code": code,
        "codeVerifier": pkce.verifier, "redirectUri": redirect}, "CreateOAuth2Token")
    arn = subject_of(output.get("idToken"))
    if arn is None:
        raise AwsError(f"AWS Sign-In answered the login of {login.label} without an ID token "
                       "naming who signed in", "run the login again")
    if same_identity and login.arn and arn != login.arn:
        raise LoginNeeded(f"the sign-in was made as {arn}, but {login.label} is {login.arn}",
                          f"sign in as {login.arn}, or switch the login to the other identity: "
                          f"run 'xaccount-credproc login --profile {login.name}'", SIGN_IN)
    now = time.time()
    access = output["accessToken"]
    document = {
        "accessToken": {"accessKeyId": access["accessKeyId"],
                        "secretAccessKey": access["secretAccessKey"],
                        "sessionToken": access["sessionToken"], "accountId": account_of(arn),
                        "expiresAt": timestamp(now + output["expiresIn"])},
        "tokenType": output.get("tokenType") or "aws_sigv4", "clientId": client_id,
        "refreshToken": output["refreshToken"], "idToken": output["idToken"],
        "dpopKey": dpop.to_pem(key), "signInRegion": login.region or "us-east-1",
        LOGIN_AT: timestamp(now)}
    if login.storage == "keyring":
        document[SESSION_ARN] = arn
    login.arn = arn
    login.write(document)
    debug.log(f"signed in for {login.label} as {arn}")
    return document


# -- keeping it fresh ----------------------------------------------------------------------------


def signed_in_elsewhere(login: LoginSession) -> Elsewhere:
    """For a login a program started: the token another login (the `login` command, `aws
    login`) wrote meanwhile, or None. Asked while waiting, so the wait ends at once."""
    def check() -> dict | None:
        try:
            document = login.read()
        except UserError:
            return None
        return document if seconds_left(document) > REFRESH_MARGIN else None

    return check


class LoginSignIn:
    """A login as a SignInSession (credentials/sign_in.py): the ways a person signs in to it
    again, as the identity it was (a first login, or a switch to another identity, is the
    person's own `login`, which records it in the AWS profile)."""

    kind = SIGN_IN

    def __init__(self, login: LoginSession):
        self.login = login

    @property
    def label(self) -> str:
        return self.login.label

    @property
    def login_command(self) -> str:
        return self.login.login_command

    def signed_in_elsewhere(self) -> Elsewhere:
        return signed_in_elsewhere(self.login)

    def browser_login(self, say: Say, elsewhere: Elsewhere) -> dict:
        self._known()
        return same_device(self.login, browser=True, say=say, elsewhere=elsewhere,
                           same_identity=True)

    def terminal_login(self, say: Say, ask: Ask, elsewhere: Elsewhere) -> dict:
        self._known()
        return cross_device(self.login, say=say, ask=ask, same_identity=True)

    def _known(self) -> None:
        login = self.login
        if login.storage == "file" and not login.arn:
            raise LoginNeeded(f"{login.label} has never signed in (AWS profile '{login.name}' "
                              "has no login_session)", f"sign in: run {login.login_command}",
                              SIGN_IN)


def fresh_login(login: LoginSession, margin: float = REFRESH_MARGIN,
                warnings: list[str] | None = None, sign_in: SignIn | None = None) -> dict:
    """The login's token with more than `margin` left: as it is, or refreshed under the
    login's lock (read again under it first), or, when only a person can help, from
    `sign_in(login, why)` (None: nobody to ask; LoginNeeded)."""
    from .. import fetched_once

    def read() -> dict | None:
        document = login.read()
        if document is None:
            return None
        document = checked(document, login)
        return document if seconds_left(document) > margin else None

    def renewed() -> dict:
        try:
            document = login.read()
            if document is None:
                raise LoginNeeded(f"{login.label} is not signed in", f"sign in: run "
                                  f"{login.login_command}", SIGN_IN)
            return refresh(login, checked(document, login))
        except LoginNeeded as e:
            if sign_in is None:
                raise
            debug.log(f"{e.what}: signing in again")
            return sign_in(LoginSignIn(login), e)

    return fetched_once(login.lock_name, f"the AWS Sign-In token of {login.label}", read,
                        renewed, warnings)


def refresh(login: LoginSession, document: dict) -> dict:
    """The login's credentials renewed with its refresh token and its own key, written back;
    the document's other members (the AWS CLI's and botocore's too) kept."""
    from . import dpop

    try:
        key = dpop.from_pem(document["dpopKey"])
    except dpop.NotAKey as e:
        store = login.token_store()
        raise ConfigError(f"the dpopKey of {login.label}"
                          + (f" ({store.where()})" if store is not None else "")
                          + f" cannot be used: {e}", f"log in again: run {login.login_command}") \
            from None
    region = document.get("signInRegion") or login.region
    client = signin_client(region if isinstance(region, str) else None)
    output = create_token(login, client, key, {
        "clientId": document["clientId"], "grantType": "refresh_token",
        "refreshToken": document["refreshToken"]}, "CreateOAuth2Token (refresh)")
    access = output["accessToken"]
    renewed = {**document, "accessToken": {
        **document["accessToken"], "accessKeyId": access["accessKeyId"],
        "secretAccessKey": access["secretAccessKey"], "sessionToken": access["sessionToken"],
        "expiresAt": timestamp(time.time() + output["expiresIn"])},
        "refreshToken": output["refreshToken"]}
    login.write(renewed)
    debug.log(f"refreshed the credentials of {login.label}")
    return renewed


def logout(login: LoginSession) -> bool:
    """Remove the login's token (as `aws logout` does: AWS keeps no session to end); whether
    there was one."""
    store = login.token_store()
    return store is not None and store.remove()


def logout_every_file() -> list[str]:
    """Remove every login token in the AWS CLI's login cache (a JSON file of ours alone with an
    access key, as `aws logout --all` finds them); what was removed, by its session."""
    import json
    import os

    from . import cache_directory

    directory = cache_directory()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    removed = []
    for name in names:
        path = os.path.join(directory, name)
        try:
            if not name.endswith(".json") or os.lstat(path).st_uid != os.geteuid():
                continue
            with open(path, encoding="utf-8") as f:
                document = json.loads(f.read(1 << 20))
            access = document.get("accessToken") if isinstance(document, dict) else None
            if not (isinstance(access, dict) and access.get("accessKeyId")):
                continue
            os.unlink(path)
        except (OSError, ValueError):
            continue
        removed.append(subject_of(document.get("idToken")) or name)
    return removed
