r"""A real STS-compatible HTTP server on 127.0.0.1: moto's server, wrapped in a small WSGI layer.

moto answers the STS API but ignores trust policies, never checks who is calling and validates
almost nothing. The wrapper records every STS request (Action, parameters, caller key id; an MFA
code only as a SHA-256 digest) so tests can count and inspect calls, knows which access keys
exist (static user keys registered by the test, and every key STS issued), and enforces AWS's
rules. Where this emulator and AWS disagree, AWS is right: each rule names its source, and no
rule is loosened to make a test pass.

Each rule, what AWS answers, and where AWS says so:

- unknown access key, or a session token that does not belong to it -> 403 InvalidClientTokenId.
  Source: STS API reference, Common Errors.
- expired temporary credentials -> 403 ExpiredToken. Source: STS API reference, Common Errors.
- GetSessionToken signed by temporary credentials (a role session, a GetSessionToken session) -> 403
  AccessDenied. Source: GetSessionToken API reference ("you cannot call GetSessionToken with session
  credentials"); REFERENCE.md.
- GetSessionToken DurationSeconds 900-129600 -> 400 ValidationError. Source: GetSessionToken API
  reference.
- AssumeRole signed by any temporary credentials (role chaining, and a GetSessionToken session) with
  DurationSeconds over 3600 -> 400 ValidationError "...1 hour session limit for roles assumed by
  role chaining.". Source: IAM User Guide, "Role chaining"; AWS knowledge center
  "iam-role-chaining-limit"; aws-vault issues 263 and 800; aws-runas issue 11.
- AssumeRole DurationSeconds 900 to the role's MaxSessionDuration -> 400 ValidationError. Source:
  AssumeRole API reference.
- RoleSessionName 2-64 of `[\w+=,.@-]` -> 400 ValidationError. Source: AssumeRole API reference.
- ExternalId 2-1224 of `[\w+=,.@:/-]`; the trust policy's ExternalId condition -> 400
  ValidationError; 403 AccessDenied. Source: AssumeRole API reference; IAM User Guide, "Access to
  AWS accounts owned by third parties".
- SerialNumber 9-256 of `[\w+=/:,.@-]`; TokenCode exactly 6 digits -> 400 ValidationError. Source:
  AssumeRole and GetSessionToken API references.
- a TOTP code: the device's code of the current 30 s step or one step either side, and never one
  that was accepted before -> 403 AccessDenied "MultiFactorAuthentication failed...". Source: RFC
  6238 section 5.2 (a verifier must not accept the same OTP twice; one step of drift);
  glassechidna/awsweb issue 5; aws-cli issue 2279; REFERENCE.md.
- the trust policy's MFA condition: a code on the call, or a caller whose session carries MFA -> 403
  AccessDenied. Source: IAM User Guide, "Configuring MFA-protected API access".
- the principals a trust policy names -> 403 AccessDenied. Source: IAM User Guide, "Role trust
  policies".
- SourceIdentity 2-64 of `[\w+=,.@-]`, not starting with `aws:` -> 400 ValidationError. Source:
  AssumeRole API reference.
- SourceIdentity needs `sts:SetSourceIdentity` in the trust policy -> 403 AccessDenied "... not
  authorized to perform: sts:SetSourceIdentity ...". Source: IAM User Guide, "Monitor and control
  actions taken with assumed roles".
- a session that carries a source identity passes it on: the next role's trust policy must allow
  `sts:SetSourceIdentity` too, and a chained AssumeRole cannot set another -> 403
  AccessDenied. Source: same page ("after the source identity is set, it cannot be changed"); the
  wording is ours.
- Tags: at most 50, keys 1-128 and values 0-256 of `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, no key twice
  (case-insensitive) -> 400 ValidationError. Source: AssumeRole API reference; IAM User Guide,
  "Passing session tags in AWS STS".
- Tags or TransitiveTagKeys need `sts:TagSession` in the trust policy -> 403 AccessDenied "... not
  authorized to perform: sts:TagSession ...". Source: IAM User Guide, "Passing session tags in AWS
  STS".
- TransitiveTagKeys: at most 50, each one of the call's tag keys -> 400 ValidationError (the wording
  is ours). Source: same page.
- a chained AssumeRole cannot pass a tag whose key is a transitive tag of its caller -> 400
  ValidationError (the wording is ours). Source: same page ("you cannot later change ... transitive
  tags").
- each GetSessionToken answers its own credentials (moto answers one fixed example key). Source:
  GetSessionToken API reference.
- a presigned GET (an EKS token's GetCallerIdentity): the key and its session token as above, the
  URL used within X-Amz-Expires of X-Amz-Date (403 "Request has expired"), the SigV4 signature
  over the method, path, query and every header X-Amz-SignedHeaders names, the host included
  (403 SignatureDoesNotMatch); answered with the signer's identity, in JSON when asked. Source:
  AWS General Reference, "Create a presigned URL" and "Signature Version 4 signing";
  aws-iam-authenticator's token verifier (it sends `accept: application/json`).
- console credentials (AWS Sign-In, `aws login`) are temporary credentials: GetSessionToken signed
  by them -> 403 AccessDenied, as for any session credentials. Source: GetSessionToken API
  reference; AWS Sign-In user guide ("temporary credentials"). Unpublished, so switches run both
  ways (`login_role_cap`, `login_mfa`): whether AssumeRole signed by them is held to 1 hour; and
  whether a role's MFA condition takes a code on that AssumeRole or the console sign-in's own MFA
  (then a code on the call is refused: 403 AccessDenied, the wording ours).
"""

import hashlib
import json
import re
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC
from urllib.parse import parse_qs

from werkzeug.serving import make_server

from tests.harness import otp, ports

MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."


LOGIN_MFA_REFUSED = ("SerialNumber and TokenCode are not accepted with console credentials: the "
                     "MFA of the console sign-in applies")


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class TrustRule:
    external_id: str | None = None
    mfa_required: bool = False
    max_session: int = 43200
    # Principals the trust policy names (IAM user or role ARNs); None trusts any known caller.
    trusts: tuple[str, ...] | None = None
    # Whether the trust policy allows sts:SetSourceIdentity and sts:TagSession.
    set_source_identity: bool = False
    tag_session: bool = False


def principal_of(arn: str) -> str:
    """The IAM principal behind a caller ARN: an assumed-role session is its role."""
    match = re.fullmatch(r"arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/.*", arn)
    if match:
        partition, account, role = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    return arn


@dataclass
class AccessKey:
    secret: str
    # "user" (long-term), "iam" (long-term, made through moto's IAM), "mfa-session", "role",
    # "login" (AWS Sign-In's console credentials, tests/harness/signin_emulator.py)
    kind: str
    arn: str
    session_token: str | None = None
    mfa: bool = False
    expires: float | None = None
    expired: bool = False
    chained: bool = False  # a role session assumed with role credentials (role chaining)
    source_identity: str | None = None
    transitive_tags: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def temporary(self) -> bool:
        return self.kind in ("mfa-session", "role", "login")


@dataclass
class Call:
    action: str
    params: dict
    caller: str | None
    region: str | None = None
    status: int = 0
    error: str | None = None
    service: str = "sts"


@dataclass
class MfaDevice:
    """A virtual MFA device (TOTP, `seed`), or one whose valid codes the test lists (`codes`).
    Either way a code AWS accepted once is refused ever after."""

    seed: bytes | None = None
    codes: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)
    accepted: list[str] = field(default_factory=list)  # in order, for tests and secret scans
    # Seconds the device (and AWS's view of it) is ahead of the wall clock: a test moves time
    # on by a TOTP step instead of waiting for it (`StsEmulator.next_step`).
    ahead: float = 0.0

    def valid_now(self) -> set[str]:
        if self.seed is None:
            return set(self.codes)
        now = time.time() + self.ahead
        return {otp.code_at(self.seed, now + step * otp.PERIOD) for step in (-1, 0, 1)}

    def current(self) -> str:
        return otp.code_at(self.seed, time.time() + self.ahead)


TAG_CHARS = r"[\w\s_.:/=+\-@]"


def tags_of(form) -> tuple[dict[str, str], str | None]:
    """The call's session tags ({key: value}) and what is wrong with them, if anything."""
    tags, index = {}, 1
    while f"Tags.member.{index}.Key" in form:
        tags[form[f"Tags.member.{index}.Key"]] = form.get(f"Tags.member.{index}.Value", "")
        index += 1
    if len(tags) > 50:
        return tags, ("1 validation error detected: Value at 'tags' failed to satisfy "
                      "constraint: Member must have length less than or equal to 50")
    seen = set()
    for key, value in tags.items():
        if not re.fullmatch(f"{TAG_CHARS}{{1,128}}", key) or not re.fullmatch(
                f"{TAG_CHARS}{{0,256}}", value):
            return tags, (f"1 validation error detected: Value at 'tags' failed to satisfy "
                          f"constraint: the tag {key[:20]!r} has a key of 1-128 or a value of "
                          "0-256 characters of letters, digits, spaces and _.:/=+-@")
        if key.lower() in seen:
            return tags, f"Duplicate tag keys found. Tag keys are case-insensitive ({key})."
        seen.add(key.lower())
    return tags, None


class Hold:
    """A held action: `arrived` is set when a request came; each waits until `release()`."""

    def __init__(self, after: bool):
        self.after = after
        self.arrived = threading.Event()
        self._released = threading.Event()

    def wait(self) -> None:
        self.arrived.set()
        self._released.wait(120)

    def release(self) -> None:
        self._released.set()


def _server_on_a_port_never_used_before(app):
    """A threaded WSGI server on a loopback port this run never used (harness/ports.py)."""
    return ports.fresh(lambda: make_server("127.0.0.1", 0, app, threaded=True),
                       lambda server: server.server_port, lambda server: server.server_close())


class StsEmulator:
    def __init__(self, moto_app=None):
        if moto_app is None:
            from moto.server import DomainDispatcherApplication, create_backend_app

            moto_app = DomainDispatcherApplication(create_backend_app)
        self.moto_app = moto_app
        self.lock = threading.Lock()
        self.all_issued: list[str] = []  # kept across resets, for secret scans
        self.all_codes: list[str] = []  # MFA codes accepted, kept across resets, likewise
        self.strays: list[tuple[str | None, str]] = []  # (port, user agent): see _stray
        self.reset()
        self._server = None
        self.url = None

    # -- test-facing configuration ------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            for device in getattr(self, "devices", {}).values():  # kept for secret scans
                self.all_codes += device.accepted
            self.calls: list[Call] = []
            self.roles: dict[str, TrustRule] = {}
            self.keys: dict[str, AccessKey] = {}
            self.devices: dict[str, MfaDevice] = {}
            self.delay: float = 0.0  # seconds to hold each AssumeRole/GetSessionToken
            self.lifetime: int | None = None  # issue credentials that expire this soon instead
            self.token_length: int | None = None  # issue session tokens this long instead
            self.fail_next: list[tuple[int, str, str]] = []
            self.clock_offset: float = 0.0  # seconds added to the Date header STS answers with
            # JSON-protocol calls (X-Amz-Target) to answer with an error instead of moto's
            # answer, e.g. what AWS says where moto is lenient.
            self.json_failures: dict[str, tuple[int, str, str]] = {}
            # What AWS does not publish about console credentials (AWS Sign-In): switches, and
            # the suite runs both ways. Whether a role assumed with them is held to 1 hour, as
            # with any temporary credentials (True), or not; whether a role's MFA condition
            # takes a code on the AssumeRole they sign ("code": the console sign-in's MFA does
            # not count) or the console sign-in's MFA ("console": a code on the call is
            # refused).
            self.login_role_cap: bool = True
            self.login_mfa: str = "code"
            self.eks_denied: set[str] = set()  # principals whose EKS calls are refused
            for hold in getattr(self, "holds", {}).values():
                hold.release()
            self.holds: dict[str, Hold] = {}

    def hold(self, action: str, after: bool = False) -> "Hold":
        """Hold every `action` request until released: before it reaches moto (nothing is done),
        or `after` moto did it (the answer is withheld). A test kills a client at that point:
        a slow AWS, the kill point seen from outside the client."""
        self.holds[action] = Hold(after)
        return self.holds[action]

    def add_role(self, arn: str, **rule) -> None:
        self.roles[arn] = TrustRule(**rule)

    def add_user_key(self, access_key_id: str, secret: str, arn: str) -> None:
        self.keys[access_key_id] = AccessKey(secret=secret, kind="user", arn=arn)

    def add_session_key(self, access_key_id: str, secret: str, session_token: str, arn: str,
                        expires: float) -> None:
        """Temporary role credentials issued elsewhere (IAM Identity Center's portal)."""
        with self.lock:
            self.keys[access_key_id] = AccessKey(secret=secret, kind="role", arn=arn,
                                                 session_token=session_token, expires=expires)
            self.all_issued += [secret, session_token]

    def add_login_key(self, access_key_id: str, secret: str, session_token: str, arn: str,
                      expires: float, mfa: bool) -> None:
        """Console credentials AWS Sign-In issued to `arn` (its `mfa`: the console sign-in
        used MFA). Their secrets are the sign-in emulator's to list, not STS's."""
        with self.lock:
            self.keys[access_key_id] = AccessKey(secret=secret, kind="login", arn=arn,
                                                 session_token=session_token, expires=expires,
                                                 mfa=mfa)

    def caller_arn(self, access_key_id: str | None) -> str | None:
        """Who a recorded call was signed as (the ARN behind its access key)."""
        with self.lock:
            key = self.keys.get(access_key_id)
            return key.arn if key else None

    def add_mfa_device(self, serial: str, *codes: str) -> None:
        """A device whose valid codes are `codes` (each accepted once)."""
        self.devices[serial] = MfaDevice(codes=set(codes))

    def add_totp_device(self, serial: str, seed: bytes) -> None:
        """A virtual MFA device: its codes change every 30 s (tests/harness/otp.py)."""
        self.devices[serial] = MfaDevice(seed=seed)

    def current_code(self, serial: str) -> str:
        """What the TOTP device shows now."""
        return self.devices[serial].current()

    def next_step(self, serial: str) -> str:
        """Time moves on by one TOTP step for the device and for AWS alike (the rule they keep
        is the same: a code is accepted once, in its step or one either side); the code the
        device shows now."""
        with self.lock:
            device = self.devices[serial]
            device.ahead += otp.PERIOD
            return device.current()

    def unused_code(self, serial: str, timeout: float = 35) -> str:
        """What the TOTP device shows once it shows a code not accepted yet (the next step's,
        when the current one was just used): what a person would type."""
        device = self.devices[serial]
        deadline = time.monotonic() + timeout
        while device.current() in device.used:
            assert time.monotonic() < deadline, "the device never showed an unused code"
            time.sleep(0.2)
        return device.current()

    def accepted_codes(self, serial: str) -> list[str]:
        with self.lock:
            return list(self.devices[serial].accepted)

    def expire_key(self, access_key_id: str) -> None:
        self.keys[access_key_id].expired = True

    def calls_of(self, action: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.action == action]

    def issued_secrets(self) -> list[str]:
        """Every secret key and session token handed out since the server started."""
        with self.lock:
            return list(self.all_issued)

    def codes_seen(self) -> list[str]:
        """Every MFA code accepted since the server started."""
        with self.lock:
            return self.all_codes + [c for d in self.devices.values() for c in d.accepted]

    # -- server -------------------------------------------------------------------------------

    def start(self) -> str:
        self._server = _server_on_a_port_never_used_before(self)
        self._server.daemon_threads = True
        emulator = self

        class SkewedClock(self._server.RequestHandlerClass):
            """The server's own Date header, as a server whose clock is off would send it."""

            def date_time_string(self, timestamp=None):
                return super().date_time_string(
                    (time.time() if timestamp is None else timestamp) + emulator.clock_offset)

        self._server.RequestHandlerClass = SkewedClock
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self.url

    def listen_anew(self) -> str:
        """Serve on a fresh port from now on, and no longer on the one before. Each test's
        endpoint is its own: a cache entry's key names the endpoint, so no entry one test made
        is ever another's (in the same session or beside it in another worker), and no test
        has to sweep the uid's kernel keyring, which every worker shares, to be alone."""
        before = self._server
        self.start()
        if before is not None:
            before.shutdown()
            before.server_close()
        return self.url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _stray(self, environ, start_response):
        """A request on a keep-alive connection opened to an earlier test's port: closing the
        listener does not close connections already accepted, so a process an earlier test left
        behind could otherwise be recorded as this test's caller, with keys this test's STS never
        issued. It is refused and noted (`strays`, kept across resets), never recorded."""
        with self.lock:
            self.strays.append((environ.get("SERVER_PORT"), environ.get("HTTP_USER_AGENT", "")))
        body = b"this STS endpoint belonged to an earlier test"
        start_response("421 Misdirected Request", [("Content-Length", str(len(body))),
                                                   ("Connection", "close")])
        return [body]

    def reset_moto(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).read()

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        import io

        if self._server is not None and environ.get("SERVER_PORT") != str(self._server.server_port):
            return self._stray(environ, start_response)
        if environ.get("REQUEST_METHOD") == "GET" and "X-Amz-Signature=" in environ.get(
                "QUERY_STRING", ""):
            return self._presigned(environ, start_response)

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = form.get("Action")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target in self.json_failures:
            status, code, message = self.json_failures[target]
            body = json.dumps({"__type": code, "message": message}).encode()
            start_response(f"{status} Error", [("Content-Type", "application/x-amz-json-1.1"),
                                               ("Content-Length", str(len(body)))])
            return [body]
        if self._service(environ) == "eks":
            denied = self._eks_denied(environ)
            if denied:
                return denied(start_response)
        if action and self._service(environ) == "iam":
            # moto's IAM itself, but recorded: who signed each call (never a secret).
            with self.lock:
                self.calls.append(Call(action=action, caller=self._caller_key_id(environ),
                                       params={k: v for k, v in form.items()
                                               if k in ("UserName", "AccessKeyId")},
                                       service="iam"))
            hold = self.holds.get(action)
            if hold and not hold.after:
                hold.wait()
            if hold and hold.after:
                answered = b"".join(self.moto_app(environ, lambda *a, **k: None))
                hold.wait()
                del answered  # the caller was killed meanwhile: the answer goes nowhere
            return self.moto_app(environ, start_response)
        if not action or not self._is_sts(environ):
            return self.moto_app(environ, start_response)

        caller = self._caller_key_id(environ)
        params = {k: v for k, v in form.items() if k not in ("Action", "Version")}
        if "TokenCode" in params:
            params["TokenCode"] = digest(params["TokenCode"])
        scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        call = Call(action=action, params=params, caller=caller,
                    region=scope.group(1) if scope else None)
        with self.lock:
            self.calls.append(call)

        if action in self.holds:
            self.holds[action].wait()
        denial = self._check(action, form, caller, environ)
        if denial:
            call.status, call.error = denial[0], denial[1]
            return self._error(start_response, *denial)
        if self.delay and action in ("AssumeRole", "GetSessionToken"):
            time.sleep(self.delay)

        status_holder = {}

        def capture(status, headers, exc_info=None):
            status_holder["status"], status_holder["headers"] = status, headers
            return lambda data: None

        payload = b"".join(self.moto_app(environ, capture))
        call.status = int(status_holder["status"].split()[0])
        if call.status == 200:
            payload = self._after(action, form, caller, payload)
        headers = [(k, v) for k, v in status_holder["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(payload))))
        start_response(status_holder["status"], headers)
        return [payload]

    def _eks_denied(self, environ):
        """EKS calls of a principal the test denied (an identity policy without
        eks:DescribeCluster): 403 AccessDeniedException, as EKS answers (EKS API reference,
        Common Errors). None: moto answers."""
        caller = self._caller_key_id(environ)
        with self.lock:
            key = self.keys.get(caller)
        if key is None or principal_of(key.arn) not in self.eks_denied:
            return None

        def answer(start_response):
            body = json.dumps({"message": f"User: {key.arn} is not authorized to perform: "
                                          "eks:DescribeCluster"}).encode()
            start_response("403 Forbidden", [("Content-Type", "application/json"),
                                             ("x-amzn-ErrorType", "AccessDeniedException"),
                                             ("Content-Length", str(len(body)))])
            return [body]

        return answer

    def _presigned(self, environ, start_response):
        """A presigned GET (an EKS token's GetCallerIdentity), checked as AWS checks a query-
        signed request: the key and its session token, the URL's lifetime, the SigV4 signature
        over the method, path, query and the headers it names (AWS General Reference, "Create
        a presigned URL" and "Signature Version 4 signing"). Answered with the signer's
        identity, in JSON when asked for it (aws-iam-authenticator asks)."""
        raw = environ.get("QUERY_STRING", "")
        pairs = [pair.partition("=") for pair in raw.split("&") if pair]
        query = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        caller = query.get("X-Amz-Credential", "").split("/")[0] or None
        call = Call(action=query.get("Action", "?"), params={
            "presigned": True, "cluster": environ.get("HTTP_X_K8S_AWS_ID")}, caller=caller,
            region=(query.get("X-Amz-Credential", "").split("/") + ["", "", ""])[2])
        with self.lock:
            self.calls.append(call)
            denial = self._presigned_denial(environ, pairs, query, caller)
        if denial:
            call.status, call.error = denial[0], denial[1]
            return self._error(start_response, *denial)
        call.status = 200
        arn = self.keys[caller].arn
        account = arn.split(":")[4]
        if "application/json" in environ.get("HTTP_ACCEPT", ""):
            body = json.dumps({"GetCallerIdentityResponse": {
                "GetCallerIdentityResult": {"Account": account, "Arn": arn, "UserId": caller},
                "ResponseMetadata": {"RequestId": secrets.token_hex(8)}}}).encode()
            kind = "application/json"
        else:
            body = (f'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-'
                    f'15/"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>{caller}</UserId>'
                    f"<Account>{account}</Account></GetCallerIdentityResult>"
                    "</GetCallerIdentityResponse>").encode()
            kind = "text/xml"
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    def _presigned_denial(self, environ, pairs, query, caller):
        import hmac
        from datetime import datetime

        if query.get("Action") != "GetCallerIdentity" or query.get("X-Amz-Algorithm") != \
                "AWS4-HMAC-SHA256":
            return 400, "InvalidAction", "Only a presigned GetCallerIdentity is served here."
        key = self.keys.get(caller)
        if key is None or key.kind == "iam":
            found = self.iam_user_of(caller)
            key = None if found is None else AccessKey(secret=found[0], kind="iam",
                                                       arn=found[1])
            if key is not None:
                self.keys[caller] = key
        if key is None:
            return 403, "InvalidClientTokenId", "The security token included in the request is invalid."
        if key.expired or (key.expires and key.expires < time.time()):
            return 403, "ExpiredToken", "The security token included in the request is expired"
        if key.session_token != query.get("X-Amz-Security-Token"):
            return 403, "InvalidClientTokenId", "The security token included in the request is invalid."
        try:
            signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=UTC).timestamp()
            expires = int(query["X-Amz-Expires"])
        except (KeyError, ValueError):
            return 400, "AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires " \
                "are required."
        if time.time() > signed_at + expires:
            return 403, "AccessDenied", "Request has expired"
        scope = query.get("X-Amz-Credential", "").split("/", 1)[1]
        names = query.get("X-Amz-SignedHeaders", "").split(";")
        headers = {"host": environ.get("HTTP_HOST", "")}
        for name in names:
            if name != "host":
                headers[name] = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
        canonical_query = "&".join(f"{k}={v}" for k, _, v in sorted(
            (k, "=", v) for k, _, v in pairs if k != "X-Amz-Signature"))
        canonical = "\n".join([
            "GET", environ.get("PATH_INFO") or "/", canonical_query,
            "".join(f"{n}:{' '.join(headers.get(n, '').split())}\n" for n in names),
            ";".join(names), hashlib.sha256(b"").hexdigest()])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signing = f"AWS4{key.secret}".encode()
        for part in scope.split("/"):
            signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, query.get("X-Amz-Signature", "")):
            return 403, "SignatureDoesNotMatch", (
                "The request signature we calculated does not match the signature you "
                "provided.")
        return None

    @staticmethod
    def _is_sts(environ) -> bool:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        return "/sts/aws4_request" in auth or environ.get("PATH_INFO", "/") == "/"

    @staticmethod
    def _service(environ) -> str | None:
        match = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        return match.group(1) if match else None

    @staticmethod
    def iam_user_of(access_key_id: str | None):
        """(secret, user ARN) of an active access key made through moto's IAM, or None."""
        if not access_key_id:
            return None
        from moto.iam.models import iam_backends

        for account in list(iam_backends):
            backend = iam_backends[account]["global"]
            user = backend.get_user_from_access_key_id(access_key_id)
            if user is None:
                continue
            for key in backend.list_access_keys(user.name):
                if key.access_key_id == access_key_id and key.status == "Active":
                    return key.secret_access_key, user.arn
        return None

    @staticmethod
    def _caller_key_id(environ) -> str | None:
        match = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        return match.group(1) if match else None

    def _check(self, action, form, caller, environ):
        """The rules of the table above, in the order AWS reports them: who signed, the
        parameters' own constraints, then the trust policy."""
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            key = self.keys.get(caller)
            if key is None or key.kind == "iam":
                # A key made through moto's IAM counts for as long as IAM has it, active.
                found = self.iam_user_of(caller)
                key = None if found is None else AccessKey(secret=found[0], kind="iam",
                                                           arn=found[1])
                if key is not None:
                    self.keys[caller] = key
                else:
                    self.keys.pop(caller, None)
            if key is None:
                return 403, "InvalidClientTokenId", "The security token included in the request is invalid."
            if key.expired or (key.expires and key.expires < time.time()):
                return 403, "ExpiredToken", "The security token included in the request is expired"
            if key.session_token != environ.get("HTTP_X_AMZ_SECURITY_TOKEN"):
                return 403, "InvalidClientTokenId", "The security token included in the request is invalid."
            if action not in ("AssumeRole", "GetSessionToken"):
                return None
            invalid = self._invalid_parameters(action, form)
            if invalid:
                return 400, "ValidationError", invalid
            if action == "GetSessionToken" and key.temporary:
                return 403, "AccessDenied", "Cannot call GetSessionToken with session credentials"
            mfa_ok = None
            if ("SerialNumber" in form or "TokenCode" in form) and key.kind == "login" \
                    and self.login_mfa == "console":
                return 403, "AccessDenied", LOGIN_MFA_REFUSED
            if "SerialNumber" in form or "TokenCode" in form:
                device = self.devices.get(form.get("SerialNumber", ""))
                code = form.get("TokenCode", "")
                mfa_ok = bool(device) and code in device.valid_now() and code not in device.used
                if not mfa_ok:
                    return 403, "AccessDenied", MFA_FAILED
            if action == "AssumeRole":
                denial = self._trust(form, key, mfa_ok)
                if denial:
                    return denial
            if mfa_ok:
                device = self.devices[form["SerialNumber"]]
                device.used.add(form["TokenCode"])
                device.accepted.append(form["TokenCode"])
            return None

    @staticmethod
    def _invalid_parameters(action, form) -> str | None:
        """AWS's own constraints on the parameters (API references), before any policy."""
        def constraint(value, name, what):
            return (f"1 validation error detected: Value '{value}' at '{name}' failed to "
                    f"satisfy constraint: Member must {what}")

        duration = form.get("DurationSeconds")
        if duration is not None:
            high = 43200 if action == "AssumeRole" else 129600
            if not duration.isdigit() or not 900 <= int(duration) <= high:
                bound = ("have value greater than or equal to 900" if not duration.isdigit()
                         or int(duration) < 900 else f"have value less than or equal to {high}")
                return constraint(duration, "durationSeconds", bound)
        patterns = {"RoleSessionName": (r"[\w+=,.@-]{2,64}", "roleSessionName"),
                    "ExternalId": (r"[\w+=,.@:/-]{2,1224}", "externalId"),
                    "SerialNumber": (r"[\w+=/:,.@-]{9,256}", "serialNumber"),
                    "TokenCode": (r"\d{6}", "tokenCode"),
                    "SourceIdentity": (r"[\w+=,.@-]{2,64}", "sourceIdentity")}
        for parameter, (pattern, name) in patterns.items():
            value = form.get(parameter)
            if value is not None and not re.fullmatch(pattern, value, re.ASCII):
                shown = "***" if parameter == "TokenCode" else value
                return constraint(shown, name, f"satisfy regular expression pattern: {pattern} "
                                  "and have the length the API reference gives")
        if form.get("SourceIdentity", "").lower().startswith("aws:"):
            return "SourceIdentity must not start with the prefix 'aws:'."
        tags, problem = tags_of(form)
        if problem:
            return problem
        transitive = [v for k, v in form.items() if re.fullmatch(r"TransitiveTagKeys\.member\.\d+", k)]
        if len(transitive) > 50:
            return constraint("[...]", "transitiveTagKeys", "have length less than or equal to 50")
        lowered = {k.lower() for k in tags}
        for tag_key in transitive:
            if tag_key.lower() not in lowered:
                return f"The transitive tag key {tag_key} is not one of the session tags."
        return None

    def _trust(self, form, key, mfa_ok):
        """The role's trust policy, as AWS evaluates it for AssumeRole (its caller is `key`)."""
        role_arn = form.get("RoleArn")
        rule = self.roles.get(role_arn)

        def denied(action="sts:AssumeRole"):
            return (403, "AccessDenied", f"User: {key.arn} is not authorized to perform: "
                    f"{action} on resource: {role_arn}")

        if rule is None:
            return denied()
        if rule.external_id is not None and form.get("ExternalId") != rule.external_id:
            return denied()
        carries_mfa = key.mfa and (key.kind != "login" or self.login_mfa == "console")
        if rule.mfa_required and not (mfa_ok or carries_mfa):
            return denied()
        if rule.trusts is not None and principal_of(key.arn) not in rule.trusts:
            return denied()
        duration = int(form.get("DurationSeconds", 3600))
        if key.temporary and duration > 3600 and (key.kind != "login" or self.login_role_cap):
            return 400, "ValidationError", (
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining.")
        if duration > rule.max_session:
            return 400, "ValidationError", ("The requested DurationSeconds exceeds the "
                                            "MaxSessionDuration set for this role.")
        wanted = form.get("SourceIdentity")
        if key.source_identity is not None and not rule.set_source_identity:
            # A session that carries one passes it on: each role of the chain must allow it.
            return denied("sts:SetSourceIdentity")
        if wanted is not None:
            if key.source_identity is not None and wanted != key.source_identity:
                return 403, "AccessDenied", (
                    f"User: {key.arn} is not authorized to perform: sts:SetSourceIdentity on "
                    f"resource: {role_arn}: the session's source identity is "
                    f"'{key.source_identity}' and cannot be changed")
            if not rule.set_source_identity:
                return denied("sts:SetSourceIdentity")
        tags, _ = tags_of(form)
        if tags and not rule.tag_session:
            return denied("sts:TagSession")
        carried = {k.lower() for k in key.transitive_tags}
        for tag_key in tags:
            if tag_key.lower() in carried:
                return 400, "ValidationError", (
                    f"The session tag {tag_key} is a transitive tag of the calling session and "
                    "cannot be changed in the role chain.")
        return None

    def _after(self, action, form, caller, payload: bytes) -> bytes:
        text = payload.decode()
        if action == "GetCallerIdentity" and self.keys[caller].kind in ("user", "iam", "mfa-session",
                                                                       "login"):
            # moto knows no IAM user behind keys registered here: answer with the user's ARN.
            arn = self.keys[caller].arn
            text = re.sub("<Arn>[^<]*</Arn>", f"<Arn>{arn}</Arn>", text)
            text = re.sub("<Account>[^<]*</Account>", f"<Account>{arn.split(':')[4]}</Account>",
                          text)
            return text.encode()
        if action not in ("AssumeRole", "GetSessionToken"):
            return payload
        new = {}
        if action == "GetSessionToken":
            # moto hands out one fixed example key; give each session its own.
            new = {"AccessKeyId": "ASIA" + secrets.token_hex(8).upper(),
                   "SecretAccessKey": secrets.token_urlsafe(30),
                   "SessionToken": "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(300)}
        if self.token_length:
            new["SessionToken"] = ("IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(
                self.token_length))[:self.token_length]
        if self.lifetime is not None:
            expires_at = time.gmtime(time.time() + self.lifetime)
            new["Expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", expires_at)
        for tag, value in new.items():
            text = re.sub(f"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text)

        def field_of(tag):
            return re.search(f"<{tag}>([^<]*)</{tag}>", text).group(1)

        expiration = field_of("Expiration")
        from datetime import datetime

        expires = datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()
        with self.lock:
            caller_key = self.keys[caller]
            if action == "GetSessionToken":
                self.keys[field_of("AccessKeyId")] = AccessKey(
                    secret=field_of("SecretAccessKey"), kind="mfa-session", arn=caller_key.arn,
                    session_token=field_of("SessionToken"), mfa="TokenCode" in form,
                    expires=expires)
            else:
                tags, _ = tags_of(form)
                transitive = {k for name, k in form.items()
                              if name.startswith("TransitiveTagKeys.member.")}
                source_identity = form.get("SourceIdentity") or caller_key.source_identity
                self.keys[field_of("AccessKeyId")] = AccessKey(
                    secret=field_of("SecretAccessKey"), kind="role", arn=field_of("Arn"),
                    session_token=field_of("SessionToken"),
                    mfa="TokenCode" in form or (caller_key.mfa and (
                        caller_key.kind != "login" or self.login_mfa == "console")),
                    expires=expires,
                    chained=caller_key.kind == "role", source_identity=source_identity,
                    tags={**caller_key.transitive_tags, **tags},
                    transitive_tags={**caller_key.transitive_tags,
                                     **{k: v for k, v in tags.items() if k in transitive}})
                if source_identity and "<SourceIdentity>" not in text:
                    text = text.replace("</AssumeRoleResult>", f"<SourceIdentity>{source_identity}"
                                        "</SourceIdentity></AssumeRoleResult>")
            self.all_issued += [field_of("SecretAccessKey"), field_of("SessionToken")]
        return text.encode()

    @staticmethod
    def _error(start_response, status, code, message):
        kind = "Sender" if status < 500 else "Receiver"
        body = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                f"<Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{secrets.token_hex(8)}</RequestId></ErrorResponse>").encode()
        start_response(f"{status} Error", [("Content-Type", "text/xml"),
                                           ("Content-Length", str(len(body)))])
        return [body]
