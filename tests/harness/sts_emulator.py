"""A real STS-compatible HTTP server on 127.0.0.1: moto's server, wrapped in a small WSGI layer.

moto answers the STS API but ignores trust policies and never checks who is calling. The wrapper
adds what our tests must be able to rely on:

* it records every STS request (Action, parameters, caller key id; an MFA code only as a SHA-256
  digest) so tests can count and inspect calls;
* it enforces, per role, a required ExternalId and "MFA present" (a valid SerialNumber + TokenCode
  on the call, or a caller whose credentials came from an MFA GetSessionToken), the principals its
  trust policy names (a spoke role that trusts only the hub role), the role's maximum session
  duration and the 1-hour limit of role chaining;
* it knows which access keys exist (static user keys registered by the test, and every key STS
  issued), rejects unknown or expired ones and checks the session token that comes with them;
* it gives every GetSessionToken its own credentials (moto returns one fixed example key).
"""

import hashlib
import json
import re
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from werkzeug.serving import make_server

MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class TrustRule:
    external_id: str | None = None
    mfa_required: bool = False
    max_session: int = 43200
    # Principals the trust policy names (IAM user or role ARNs); None trusts any known caller.
    trusts: tuple[str, ...] | None = None


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
    kind: str  # "user" (long-term), "iam" (long-term, made through moto's IAM), "mfa-session", "role"
    arn: str
    session_token: str | None = None
    mfa: bool = False
    expires: float | None = None
    expired: bool = False
    chained: bool = False  # a role session assumed with role credentials


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
    codes: set[str] = field(default_factory=set)
    single_use: bool = False
    used: set[str] = field(default_factory=set)


class StsEmulator:
    def __init__(self, moto_app=None):
        if moto_app is None:
            from moto.server import DomainDispatcherApplication, create_backend_app

            moto_app = DomainDispatcherApplication(create_backend_app)
        self.moto_app = moto_app
        self.lock = threading.Lock()
        self.all_issued: list[str] = []  # kept across resets, for secret scans
        self.reset()
        self._server = None
        self.url = None

    # -- test-facing configuration ------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
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

    def caller_arn(self, access_key_id: str | None) -> str | None:
        """Who a recorded call was signed as (the ARN behind its access key)."""
        with self.lock:
            key = self.keys.get(access_key_id)
            return key.arn if key else None

    def add_mfa_device(self, serial: str, *codes: str, single_use: bool = False) -> None:
        self.devices[serial] = MfaDevice(codes=set(codes), single_use=single_use)

    def expire_key(self, access_key_id: str) -> None:
        self.keys[access_key_id].expired = True

    def calls_of(self, action: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.action == action]

    def issued_secrets(self) -> list[str]:
        """Every secret key and session token handed out since the server started."""
        with self.lock:
            return list(self.all_issued)

    # -- server -------------------------------------------------------------------------------

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
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

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def reset_moto(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).read()

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        import io

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
        if action and self._service(environ) == "iam":
            # moto's IAM itself, but recorded: who signed each call (never a secret).
            with self.lock:
                self.calls.append(Call(action=action, caller=self._caller_key_id(environ),
                                       params={k: v for k, v in form.items()
                                               if k in ("UserName", "AccessKeyId")},
                                       service="iam"))
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
            mfa_ok = None
            if "SerialNumber" in form or "TokenCode" in form:
                device = self.devices.get(form.get("SerialNumber", ""))
                code = form.get("TokenCode", "")
                mfa_ok = bool(device) and code in device.codes and code not in device.used
                if not mfa_ok:
                    return 403, "AccessDenied", MFA_FAILED
            if action == "GetSessionToken" and key.kind not in ("user", "iam"):
                return 403, "AccessDenied", "Cannot call GetSessionToken with session credentials"
            if action == "AssumeRole":
                rule = self.roles.get(form.get("RoleArn"))
                denied = (403, "AccessDenied", f"User: {key.arn} is not authorized to perform: "
                          f"sts:AssumeRole on resource: {form.get('RoleArn')}")
                if rule is None:
                    return denied
                if rule.external_id is not None and form.get("ExternalId") != rule.external_id:
                    return denied
                if rule.mfa_required and not (mfa_ok or key.mfa):
                    return denied
                if rule.trusts is not None and principal_of(key.arn) not in rule.trusts:
                    return denied
                duration = int(form.get("DurationSeconds", 3600))
                if key.kind == "role" and duration > 3600:
                    return 400, "ValidationError", (
                        "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                        "assumed by role chaining.")
                if duration > rule.max_session:
                    return 400, "ValidationError", ("The requested DurationSeconds exceeds the "
                                                    "MaxSessionDuration set for this role.")
            if mfa_ok:
                device = self.devices[form["SerialNumber"]]
                if device.single_use:
                    device.used.add(form["TokenCode"])
            return None

    def _after(self, action, form, caller, payload: bytes) -> bytes:
        text = payload.decode()
        if action == "GetCallerIdentity" and self.keys[caller].kind in ("user", "iam", "mfa-session"):
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
                kind, arn, mfa = "mfa-session", caller_key.arn, "TokenCode" in form
            else:
                kind, arn = "role", field_of("Arn")
                mfa = "TokenCode" in form or caller_key.mfa
            self.keys[field_of("AccessKeyId")] = AccessKey(
                secret=field_of("SecretAccessKey"), kind=kind, arn=arn,
                session_token=field_of("SessionToken"), mfa=mfa, expires=expires,
                chained=kind == "role" and caller_key.kind == "role")
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
