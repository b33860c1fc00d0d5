"""Signing in to IAM Identity Center, as the AWS CLI does, through botocore's `sso-oidc` and
`sso` clients (never a hand-written HTTP call to AWS):

- authorization code with PKCE (the default, as in AWS CLI 2.22+): RegisterClient as a public
  client for `http://127.0.0.1/oauth/callback`, a listener on a free loopback port that accepts
  the one callback whose `state` matches, the authorize URL opened in the browser (or printed),
  CreateToken with the code verifier (RFC 6749 4.1, RFC 7636, RFC 8252 7.3);
- the device code (`--use-device-code`: SSH, containers): StartDeviceAuthorization, the URL and
  the code shown, CreateToken polled at the interval given, `slow_down` adding 5 s (RFC 8628);
- the refresh token grant, which renews an access token without a person;
- Logout.

Each wait is bounded (`login_timeout`, 600 s); every OIDC call is unsigned, so no credential lookup (which
could run this helper) happens on the way.
"""

import base64
import hashlib
import secrets
import sys
import time

from ... import debug
from ...errors import AwsError, UserError
from ..sign_in import IDENTITY_CENTER, Ask, Elsewhere, LoginNeeded, Say, SignIn
from . import REFRESH_MARGIN, SsoSession, TokenFile, parse_timestamp, timestamp

DEVICE_GRANTS = ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]
PKCE_GRANTS = ["authorization_code", "refresh_token"]
REDIRECT_URI = "http://127.0.0.1/oauth/callback"  # registered; the port is chosen per login
CALLBACK_PATH = "/oauth/callback"
CLIENT_NAME = "xaccount-credproc"
# How long a login waits for the person (the device code itself lives 10 minutes at AWS).
TIMEOUT_ENV = "XACCOUNT_CREDPROC_SSO_LOGIN_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
CONNECT_TIMEOUT, READ_TIMEOUT = 3, 10
SLOW_DOWN = 5  # seconds added to the polling interval (RFC 8628 3.5)
PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>xaccount-credproc</title>"
        b"</head><body><p>Signed in to IAM Identity Center. You can close this window.</p>"
        b"</body></html>")


def login_timeout() -> float:
    from ...bounds import seconds_from_env

    return seconds_from_env(TIMEOUT_ENV, DEFAULT_TIMEOUT, 1, 3600, 600)


def service_client(service: str, region: str, attempts: int = 3):
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(signature_version=UNSIGNED, connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT, region_name=region,
                    retries={"mode": "standard", "total_max_attempts": attempts})
    return botocore.session.Session().create_client(service, region_name=region, config=config)


def call_api(session: SsoSession, action: str, call, expected: tuple[str, ...] = ()):
    """`call()`, with AWS's answers made readable. Error codes in `expected` are returned as
    strings for the caller to act on (authorization_pending, slow_down, ...)."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    try:
        return call()
    except bx.ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Unknown")
        if code in expected:
            return code
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "Unknown" or code.isdigit():
            raise AwsError(f"IAM Identity Center answered {action} with HTTP {status}, not an "
                           "API response: a proxy or captive portal in between?",
                           "sign in to the network, or check HTTPS_PROXY and "
                           "AWS_ENDPOINT_URL_SSO_OIDC / AWS_ENDPOINT_URL_SSO") from None
        if code in ("InvalidClientException", "UnauthorizedClientException"):
            raise LoginNeeded(f"IAM Identity Center refused the client registration of "
                              f"{session.label} ({code})",
                              f"sign in again: run {session.login_command}") from None
        if code in ("InvalidGrantException", "ExpiredTokenException", "UnauthorizedException"):
            raise LoginNeeded(f"the IAM Identity Center login of {session.label} has expired "
                              f"or was revoked ({code})",
                              f"sign in again: run {session.login_command}") from None
        raise AwsError(f"IAM Identity Center refused {action} for {session.label}: {code}",
                       "check the session's sso_start_url and sso_region") from None
    except ResponseParserError:
        raise AwsError(f"IAM Identity Center answered {action} with something that is not an "
                       "API response: a proxy or captive portal in between?",
                       "check HTTPS_PROXY and AWS_ENDPOINT_URL_SSO_OIDC") from None
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError,
            bx.ConnectionClosedError) as e:
        raise AwsError(f"cannot reach IAM Identity Center in {session.region} for {action} "
                       f"({type(e).__name__})", "check the network, proxy settings, "
                       "sso_region and AWS_ENDPOINT_URL_SSO_OIDC") from None


def expect_fields(session: SsoSession, action: str, answer, *fields: str) -> dict:
    """`answer`, which must have `fields` (a 200 page of HTML parses as an empty answer)."""
    if not isinstance(answer, dict) or any(not answer.get(f) for f in fields):
        raise AwsError(f"IAM Identity Center answered {action} without "
                       f"{' and '.join(f for f in fields if not (answer or {}).get(f))}: a "
                       "proxy or captive portal in between?",
                       "sign in to the network, or check HTTPS_PROXY and "
                       "AWS_ENDPOINT_URL_SSO_OIDC")
    return answer


def _registration(session: SsoSession, oidc, grants: list[str] | None) -> dict:
    """A client registration: the one in the token file while it lasts and was made for this
    kind of login by us (a refresh only needs one that lasts), else a new one."""
    document = TokenFile(session).read() or {}
    kind = document.get("xaccountCredprocGrants")
    if (document.get("clientId") and document.get("clientSecret")
            and TokenFile.seconds_left(document, "registrationExpiresAt") > 3600
            and (grants is None or kind == grants)):
        return {"clientId": document["clientId"], "clientSecret": document["clientSecret"],
                "registrationExpiresAt": document["registrationExpiresAt"]}
    params: dict = {"clientName": CLIENT_NAME, "clientType": "public"}
    if session.scopes:
        params["scopes"] = session.scopes
    if grants:
        params["grantTypes"] = grants
    if grants == PKCE_GRANTS:
        params.update(redirectUris=[REDIRECT_URI], issuerUrl=session.start_url)
    answer = expect_fields(session, "RegisterClient", call_api(
        session, "RegisterClient", lambda: oidc.register_client(**params)),
        "clientId", "clientSecret", "clientSecretExpiresAt")
    debug.log(f"registered an OIDC client for {session.label}")
    return {"clientId": answer["clientId"], "clientSecret": answer["clientSecret"],
            "registrationExpiresAt": timestamp(answer["clientSecretExpiresAt"])}


def _save(session: SsoSession, registration: dict, answer: dict,
          grants: list[str] | None) -> dict:
    document = {"startUrl": session.start_url, "region": session.region,
                "accessToken": answer["accessToken"],
                "expiresAt": timestamp(time.time() + int(answer["expiresIn"])),
                **registration}
    if answer.get("refreshToken"):
        document["refreshToken"] = answer["refreshToken"]
    if grants:
        document["xaccountCredprocGrants"] = grants
    TokenFile(session).write(document)
    return document


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _open(url: str, browser: bool) -> bool:
    """Open `url` in the user's browser when asked to (`browser`); whether it was started."""
    from ...web.opener import open_url

    return browser and open_url(url)


def signed_in_elsewhere(session: SsoSession):
    """For a login a program started on its own: the token another login (`sso login` in a
    terminal, `aws sso login`) has written meanwhile, or None. Asked while waiting, so that
    the wait ends as soon as a login exists, however it was made."""
    def check() -> dict | None:
        document = TokenFile(session).read()
        return document if TokenFile.seconds_left(document) > REFRESH_MARGIN else None

    return check


def device_login(session: SsoSession, browser: bool = True, say=_say,
                 elsewhere=None) -> dict:
    """`elsewhere()`: a login made another way meanwhile (signed_in_elsewhere), or None."""
    timeout = login_timeout()
    oidc = service_client("sso-oidc", session.region)
    registration = _registration(session, oidc, DEVICE_GRANTS)
    client = {"clientId": registration["clientId"], "clientSecret": registration["clientSecret"]}
    auth = expect_fields(session, "StartDeviceAuthorization", call_api(
        session, "StartDeviceAuthorization", lambda: oidc.start_device_authorization(
            startUrl=session.start_url, **client)), "deviceCode", "userCode", "verificationUri")
    url = auth.get("verificationUriComplete") or auth["verificationUri"]
    opened = _open(url, browser)
    say(f"{'Opened' if opened else 'Open'} {auth['verificationUri']} and confirm the code "
         f"{auth['userCode']} (or open {url})")
    interval = max(1, int(auth.get("interval") or 5))
    deadline = time.monotonic() + min(timeout, float(auth.get("expiresIn") or 600))
    while True:
        if time.monotonic() + interval > deadline:
            raise LoginNeeded(f"the device login of {session.label} was not approved within "
                              f"{timeout:g}s", "run it again and approve the code in "
                              "the browser in time")
        time.sleep(interval)
        done = elsewhere() if elsewhere is not None else None
        if done is not None:
            return done
        answer = call_api(session, "CreateToken", lambda: oidc.create_token(
            grantType=DEVICE_GRANTS[0], deviceCode=auth["deviceCode"], **client),
            expected=("AuthorizationPendingException", "SlowDownException",
                      "ExpiredTokenException"))
        if answer == "AuthorizationPendingException":
            continue
        if answer == "SlowDownException":
            interval += SLOW_DOWN
            continue
        if answer == "ExpiredTokenException":
            raise LoginNeeded(f"the device code of {session.label} expired before it was "
                              "approved", "run the login again and approve the code in time")
        return _save(session, registration, expect_fields(session, "CreateToken", answer,
                                                    "accessToken", "expiresIn"), DEVICE_GRANTS)


def browser_login(session: SsoSession, browser: bool = True, say=_say,
                  elsewhere=None) -> dict:
    """`elsewhere()`: a login made another way meanwhile (signed_in_elsewhere), or None."""
    from ...web import loopback

    timeout = login_timeout()
    oidc = service_client("sso-oidc", session.region)
    registration = _registration(session, oidc, PKCE_GRANTS)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(32)
    came: dict[str, str] = {}

    def handle(query: dict[str, str]) -> tuple[loopback.Reply, bool]:
        """The one callback whose state is ours; another sign-in's is refused and waited past."""
        if query.get("state") != state:
            return loopback.Reply(400, b"This sign-in is not the one being waited for."), False
        if query.get("error"):
            came["error"] = query["error"][:100]
        elif query.get("code"):
            came["code"] = query["code"]
        else:
            return loopback.Reply(400, b"No authorization code."), False
        return loopback.page(PAGE), True

    from urllib.parse import urlencode

    with loopback.Listener(CALLBACK_PATH, handle, "sso callback") as callback:
        redirect = callback.url
        query = {"response_type": "code", "client_id": registration["clientId"],
                 "redirect_uri": redirect, "state": state, "code_challenge_method": "S256",
                 "code_challenge": challenge}
        if session.scopes:
            query["scopes"] = " ".join(session.scopes)
        url = f"{oidc.meta.endpoint_url.rstrip('/')}/authorize?{urlencode(query)}"
        if _open(url, browser):
            say(f"Opened the sign-in page of {session.label} in your browser; waiting for it "
                 f"(at most {timeout:g}s). If it did not open, open: {url}")
        else:
            say(f"Open this URL in a browser on this computer to sign in to {session.label} "
                 f"(waiting at most {timeout:g}s): {url}")
        callback.wait(timeout, elsewhere=elsewhere)
        if callback.refused:  # the authorize URL (its state) was on the browser's command line
            say(f"warning: local {callback.refusals()} sent this sign-in's callback too and "
                "was refused (only your own browser is answered): someone on this machine "
                "reads other users' command lines")
        if "error" in came:
            raise LoginNeeded(f"the sign-in was not completed in the browser ({came['error']})",
                              "run the login again and allow access")
        code = came.get("code")
        done = elsewhere() if code is None and elsewhere is not None else None
        if done is not None:
            say(f"{session.label} was signed in another way meanwhile")
            return done
        if code is None:
            raise LoginNeeded(f"the browser did not come back to {redirect} within "
                              f"{timeout:g}s", "run the login again, or use "
                              "--use-device-code where the browser is on another computer")
    answer = expect_fields(session, "CreateToken", call_api(session, "CreateToken", lambda: oidc.create_token(
        grantType="authorization_code", code=code, redirectUri=redirect, codeVerifier=verifier,
        clientId=registration["clientId"], clientSecret=registration["clientSecret"])),
        "accessToken", "expiresIn")
    return _save(session, registration, answer, PKCE_GRANTS)


class SsoSignIn:
    """An IAM Identity Center session as a SignInSession (credentials/sign_in.py): the ways a
    person signs in to it again."""

    kind = IDENTITY_CENTER

    def __init__(self, session: SsoSession):
        self.session = session

    @property
    def label(self) -> str:
        return self.session.label

    @property
    def login_command(self) -> str:
        return self.session.login_command

    def signed_in_elsewhere(self) -> Elsewhere:
        return signed_in_elsewhere(self.session)

    def browser_login(self, say: Say, elsewhere: Elsewhere) -> dict:
        return browser_login(self.session, browser=True, say=say, elsewhere=elsewhere)

    def terminal_login(self, say: Say, ask: Ask, elsewhere: Elsewhere) -> dict:
        """The device code, shown here and approved on any device (`ask` is not needed)."""
        return device_login(self.session, browser=False, say=say, elsewhere=elsewhere)


def fresh_token(token_file: TokenFile, margin: float = REFRESH_MARGIN,
                warnings: list[str] | None = None, sign_in: "SignIn | None" = None) -> dict:
    """The session's token with more than `margin` left: as it is, or renewed with its refresh
    token under the session's lock, or, when that cannot be, from `sign_in(session, why)` (a
    person signing in again; None: nobody to ask). Raises LoginNeeded when only a person can help."""
    from .. import fetched_once

    def read() -> dict | None:
        document = token_file.read()
        return document if TokenFile.seconds_left(document) > margin else None

    def renewed() -> dict:
        try:
            return refresh(token_file, token_file.read())
        except LoginNeeded as e:
            if sign_in is None:
                raise
            debug.log(f"{e.what}: signing in again")
            return sign_in(SsoSignIn(token_file.session), e)

    return fetched_once(token_file.lock_name,
                        f"the IAM Identity Center token of {token_file.session.label}", read,
                        renewed, warnings)


def refresh(token_file: TokenFile, document: dict | None) -> dict:
    """The token renewed with its refresh token (no person); LoginNeeded when that cannot be."""
    session = token_file.session
    if not document or not document.get("refreshToken") or not document.get("clientId"):
        raise LoginNeeded(f"the IAM Identity Center login of {session.label} has expired "
                          "or is missing", f"sign in: run {session.login_command}")
    if (parse_timestamp(document.get("registrationExpiresAt")) or 0) <= time.time():
        raise LoginNeeded(f"the client registration of {session.label} has expired",
                          f"sign in again: run {session.login_command}")
    oidc = service_client("sso-oidc", session.region)
    answer = expect_fields(session, "CreateToken", call_api(session, "CreateToken", lambda: oidc.create_token(
        grantType="refresh_token", refreshToken=document["refreshToken"],
        clientId=document["clientId"], clientSecret=document["clientSecret"])),
        "accessToken", "expiresIn")
    debug.log(f"renewed the IAM Identity Center token of {session.label}")
    registration = {k: document[k] for k in ("clientId", "clientSecret",
                                               "registrationExpiresAt")}
    if not answer.get("refreshToken"):
        answer = {**answer, "refreshToken": document["refreshToken"]}
    return _save(session, registration, answer, document.get("xaccountCredprocGrants"))


def logout(session: SsoSession) -> bool:
    """Log the session out at IAM Identity Center and remove its token; whether there was one."""
    token_file = TokenFile(session)
    document = token_file.read()
    if document and document.get("accessToken") and TokenFile.seconds_left(document) > 0:
        portal = service_client("sso", session.region)
        try:
            call_api(session, "Logout",
                  lambda: portal.logout(accessToken=document["accessToken"]))
        except UserError as e:  # the token is removed all the same
            debug.log(f"Logout failed: {e}")
    return token_file.remove()
