"""STS calls made with the credentials of one named source profile.

boto3 is imported here, lazily, and nowhere on the cache-hit path. The source profile is always named
explicitly, so an exported AWS_PROFILE (or AWS_ACCESS_KEY_ID) can never make us call ourselves, and a
source profile whose credential_process is this helper is refused before botocore would run it.
"""

import os

from .. import debug
from ..errors import AwsError, ConfigError, UserError
from ..reentry import HELPER_MARKERS, REENTRY_ENV
from . import Credentials

EXPIRED_CODES = ("ExpiredToken", "ExpiredTokenException", "RequestExpired")
# A helper blocks the CLI that runs it, and botocore never times it out: a mute STS must cost
# seconds, not botocore's default of 60 s a read times 3 attempts.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 5
ATTEMPTS = 2
# Beyond this difference between STS's Date and our clock, say so: credentials that look
# expired on arrival (or never expire) are the symptom.
CLOCK_SKEW_WARNING = 300
IAM_ACTIONS = ("ListAccessKeys", "CreateAccessKey", "DeleteAccessKey")
EKS_ACTIONS = ("DescribeCluster",)
INVALID_CODES = ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
                 "AuthFailure", "InvalidAccessKeyId")


class MfaRejected(AwsError):
    """STS refused the MFA code itself; a person may type another one."""


class NotSent(AwsError):
    """The request never reached AWS (no connection): an MFA code on it was not used."""


class SourceSession:
    """STS as seen from one source profile (and region)."""

    def __init__(self, source_profile: str, region: str | None, for_profile: str,
                 warnings: list[str] | None = None, keys=None, anonymous: bool = False):
        """`keys`: a stored source's keys (StoredKeys), not an AWS profile. `anonymous`: no AWS
        profile and no keys either (an IAM Identity Center role's chain): every call is signed
        with the credentials it is given."""
        self.source_profile = source_profile
        self.keys = keys
        self.anonymous = anonymous
        self.region = region
        self.for_profile = for_profile
        self.warnings = [] if warnings is None else warnings
        self._session = None
        self._client = None
        self.endpoint_url = "STS"
        # (endpoint, HTTP status, content type) of the last answer, to name a proxy's page.
        self.last_answer: tuple[str, int, str] | None = None
        self.sent = 0  # requests made for the call under way (botocore's retries included)
        self.login: str | None = None  # the login whose console credentials sign (if one)

    # -- building the client ---------------------------------------------------------------

    def boto3_session(self):
        if self._session is None:
            import boto3
            import botocore.exceptions

            os.environ[REENTRY_ENV] = self.for_profile
            if self.anonymous:
                self._session = boto3.Session(region_name=self.region or "us-east-1")
                return self._session
            if self.keys is not None:
                # No AWS profile at all: the keys from the OS keyring, in memory only.
                self._session = boto3.Session(
                    aws_access_key_id=self.keys.access_key_id,
                    aws_secret_access_key=self.keys.secret_access_key,
                    region_name=self.region or "us-east-1")
                return self._session
            try:
                session = boto3.Session(profile_name=self.source_profile)
            except botocore.exceptions.ProfileNotFound:
                raise ConfigError(
                    f"source profile '{self.source_profile}' (for profile '{self.for_profile}') "
                    "is not in the AWS config or credentials file",
                    f"create it (aws configure --profile {self.source_profile}) or set "
                    "source_profile") from None
            scoped = session._session.get_scoped_config()
            process = scoped.get("credential_process", "")
            if any(marker in process for marker in HELPER_MARKERS):
                raise ConfigError(
                    f"source profile '{self.source_profile}' is itself served by "
                    "xaccount-credproc, which would loop",
                    "set source_profile to a profile with its own credentials (keys, SSO, ...)")
            self._session = session
        return self._session

    def client(self, credentials: Credentials | None = None, once: bool = False):
        """An STS client signed by the source profile, or by `credentials` (an MFA session).
        `once`: no retry, for a call that carries an MFA code (AWS accepts a code once: a retry
        of a request that reached AWS would send it twice)."""
        if credentials is None and self._client is not None and not once:
            return self._client
        region = self.region or self.boto3_session().region_name or "us-east-1"
        client = self._new_client("sts", region, credentials, attempts=1 if once else ATTEMPTS)
        self.endpoint_url = client.meta.endpoint_url
        debug.log(f"STS endpoint {client.meta.endpoint_url} (region {region}, "
                  f"source profile {self.source_profile})")
        if credentials is None and not once:
            self._client = client
        return client

    def service_client(self, service: str, region: str, credentials: Credentials | None = None):
        """A client of another service (EKS, ...) of this source's session, or signed by
        `credentials` (a role's), with the same bounds; its calls go through `call_api`."""
        return self._new_client(service, region, credentials)

    def iam(self, credentials: Credentials | None = None):
        """An IAM client signed by the source (or by `credentials`, e.g. its MFA session)."""
        return self._new_client("iam", self.region or "us-east-1", credentials)

    def _new_client(self, service: str, region: str, credentials: Credentials | None,
                    attempts: int = ATTEMPTS):
        """A client of the source's session (or signed by `credentials`), with our bounds, that
        remembers each answer's status and content type (never its body), so an answer that is
        not the API's (a captive portal, an intercepting proxy) can be named."""
        from botocore.config import Config

        kwargs = {}
        if credentials is not None:
            kwargs = {"aws_access_key_id": credentials.access_key_id,
                      "aws_secret_access_key": credentials.secret_access_key,
                      "aws_session_token": credentials.session_token}
        config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                        retries={"mode": "standard", "total_max_attempts": attempts})
        client = self.boto3_session().client(service, region_name=region, config=config, **kwargs)
        endpoint = client.meta.endpoint_url

        def remember(response_dict=None, **_):
            if response_dict:
                headers = response_dict.get("headers") or {}
                kind = (headers.get("content-type") or headers.get("Content-Type") or "")
                self.last_answer = (endpoint, response_dict.get("status_code"),
                                    kind.split(";")[0].strip())

        def count(**_):
            self.sent += 1  # each attempt is a request of its own (a retry is signed anew)

        client.meta.events.register("before-parse", remember)
        client.meta.events.register("request-created", count)
        return client

    @staticmethod
    def _service(action: str) -> str:
        return "IAM" if action in IAM_ACTIONS else "EKS" if action in EKS_ACTIONS else "STS"

    def _variable(self, action: str, endpoint) -> str:
        """The variable that points `action`'s client elsewhere, for the fix."""
        if action in EKS_ACTIONS:
            return "AWS_ENDPOINT_URL_EKS"
        iam = action in IAM_ACTIONS or "iam" in str(endpoint)
        return "AWS_ENDPOINT_URL_IAM" if iam else "AWS_ENDPOINT_URL_STS"

    def not_an_aws_answer(self, action: str) -> AwsError:
        """The answer to `action` was not the API's: one line naming where it came from."""
        endpoint, status, kind = self.last_answer or (self.endpoint_url, None, "")
        what = (f"HTTP {status} {kind or 'without a content type'}" if status is not None
                else "something unreadable")
        return AwsError(f"{endpoint} answered {action} with {what}, not an "
                        f"{self._service(action)} response: a proxy or captive portal in "
                        "between?", "sign in to the network, or check the proxy settings "
                        f"(HTTPS_PROXY, NO_PROXY) and {self._variable(action, endpoint)}")

    def credentials_from(self, action: str, response: dict) -> Credentials:
        """The Credentials of an STS answer that has them; else it was not STS that answered."""
        try:
            return Credentials.from_sts(response["Credentials"])
        except (KeyError, TypeError, AttributeError, ValueError):
            raise self.not_an_aws_answer(action) from None

    def scoped_config(self) -> dict:
        """The source AWS profile's settings, as botocore reads them (a stored source: none)."""
        if self.keys is not None or self.anonymous:
            return {}
        return self.boto3_session()._session.get_scoped_config()

    def source_credentials(self):
        """The source profile's credentials as botocore resolves them (frozen: key, secret,
        token), errors made readable."""
        def resolve():
            credentials = self.boto3_session().get_credentials()
            if credentials is None:
                import botocore.exceptions

                raise botocore.exceptions.NoCredentialsError()
            return credentials.get_frozen_credentials()

        return self._call("resolve source credentials", resolve)

    # -- calls ---------------------------------------------------------------------------

    def assume_role(self, *, role_arn: str, session_name: str, duration: int,
                    external_id: str | None, serial: str | None, code: str | None,
                    signed_by: Credentials | None = None, signer: str | None = None,
                    source_identity: str | None = None,
                    tags: dict | None = None, transitive_tags: list | None = None,
                    profile: str | None = None, asked: str | None = None) -> Credentials:
        """`signed_by`: the credentials that sign (None: the source profile's own session);
        `signer`: how messages name a signer that is not the source itself (the MFA session,
        a chain's hop before), None when it is. `profile`: whose role this is (a chain's hop
        before the one `asked` for shares its session), for messages."""
        params = {"RoleArn": role_arn, "RoleSessionName": session_name,
                  "DurationSeconds": duration}
        if external_id:
            params["ExternalId"] = external_id
        if source_identity:
            params["SourceIdentity"] = source_identity
        if tags:
            params["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
        if transitive_tags:
            params["TransitiveTagKeys"] = list(transitive_tags)
        if serial and code:
            params["SerialNumber"] = serial
            params["TokenCode"] = code
        debug.log(f"AssumeRole {role_arn} as {session_name} for {duration}s"
                  f"{' with ExternalId' if external_id else ''}"
                  f"{' as source identity ' + source_identity if source_identity else ''}"
                  f"{' with tags ' + ', '.join(tags) if tags else ''}"
                  f"{' with MFA ' + str(serial) if code else ''}"
                  f"{' signed by ' + signer if signer else ''}")
        client_call = lambda: self.client(signed_by, once=bool(code)).assume_role(**params)  # noqa: E731
        response = self._call("AssumeRole", client_call, once=bool(code), role_arn=role_arn,
                              sent_external_id=bool(external_id), sent_mfa=bool(code or signer),
                              sent_code=bool(code),
                              signer=signer, duration=duration, hop=profile, asked=asked)
        self._check_clock(response)
        return self.credentials_from("AssumeRole", response)

    def get_session_token(self, *, serial: str | None, code: str | None,
                          duration: int) -> Credentials:
        debug.log(f"GetSessionToken{' with MFA ' + serial if serial else ''} for {duration}s")
        params: dict[str, object] = {"DurationSeconds": duration}
        if serial and code:
            params.update(SerialNumber=serial, TokenCode=code)
        response = self._call("GetSessionToken",
                              lambda: self.client(once=bool(code)).get_session_token(**params),
                              once=bool(code))
        self._check_clock(response)
        return self.credentials_from("GetSessionToken", response)

    def _check_clock(self, response: dict) -> None:
        import time
        from email.utils import parsedate_to_datetime

        date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        try:
            skew = time.time() - parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        if abs(skew) > CLOCK_SKEW_WARNING:
            minutes = round(abs(skew) / 60)
            self.warnings.append(
                f"this computer's clock is {minutes} minutes {'ahead of' if skew > 0 else 'behind'} "
                f"STS's ({self.endpoint_url}), so credentials may look expired on arrival or be "
                "served too long; set the clock right (enable NTP / time sync)")

    def caller_identity(self, credentials: Credentials | None = None) -> str:
        """The ARN GetCallerIdentity names (signed by the source, or by `credentials`)."""
        identity = self._call("GetCallerIdentity",
                              lambda: self.client(credentials).get_caller_identity())
        arn = identity.get("Arn") if isinstance(identity, dict) else None
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise self.not_an_aws_answer("GetCallerIdentity")
        return arn

    def call_api(self, action: str, call):
        """Run `call` (any AWS API call through this source), with our error translation."""
        return self._call(action, call)

    def _times(self, once: bool, sent: str = "sent") -> str:
        """What happened to the call that failed: sent once (and why, when it carried an MFA
        code) or how many times, from the requests botocore made, never from the setting."""
        if self.sent > 1:
            return f", each of the {self.sent} times it was {sent}"
        if self.sent == 1:
            return f" ({sent} once" + (": a call that carries an MFA code is never sent twice)"
                                       if once else ")")
        return ""

    def _call(self, action: str, call, once: bool = False, **context):
        """`call()`, AWS's answers made readable. `once`: the call carries an MFA code (its
        client makes one attempt)."""
        import botocore.exceptions as bx
        from botocore.parsers import ResponseParserError

        self.sent = 0
        try:
            return call()
        except UserError:
            raise
        except bx.ClientError as e:
            code = e.response.get("Error", {}).get("Code", "Unknown")
            if code == "Unknown" or code.isdigit():  # a body botocore could not read as AWS's
                raise self.not_an_aws_answer(action) from None
            raise self._client_error(action, e, **context) from None
        except (ResponseParserError, KeyError, TypeError):
            # A 200 page of HTML, an empty 404, truncated XML, JSON: not the API answering.
            raise self.not_an_aws_answer(action) from None
        except (bx.SSOError, bx.TokenRetrievalError):
            # botocore's own SSO provider: a token missing from ~/.aws/sso/cache, expired, or
            # refused by the portal. Logging in opens a browser: the user's call, never ours.
            raise AwsError(f"the IAM Identity Center (SSO) login of source profile "
                           f"'{self.source_profile}' has expired or is missing",
                           f"run 'aws sso login --profile {self.source_profile}'") from None
        except (bx.NoCredentialsError, bx.PartialCredentialsError):
            raise AwsError(f"source profile '{self.source_profile}' has no usable credentials",
                           f"add keys (aws configure --profile {self.source_profile}) or log in "
                           f"(aws sso login --profile {self.source_profile})") from None
        except bx.ReadTimeoutError as e:
            endpoint = getattr(e, "kwargs", {}).get("endpoint_url") or self.endpoint_url
            raise AwsError(f"{endpoint} accepted the connection but did not answer {action} "
                           f"within {READ_TIMEOUT}s{self._times(once)}",
                           f"{self._service(action)} or a proxy in between is stuck: try again "
                           "later, or check the network, proxy settings and "
                           f"{self._variable(action, endpoint)}") from None
        except bx.ConnectTimeoutError as e:
            endpoint = getattr(e, "kwargs", {}).get("endpoint_url") or self.endpoint_url
            raise NotSent(f"cannot connect to {endpoint} within {CONNECT_TIMEOUT}s"
                          f"{self._times(once, 'tried')}", "check the network, proxy settings "
                          f"and {self._variable(action, endpoint)}") from None
        except (bx.EndpointConnectionError, bx.ConnectionClosedError,
                bx.ProxyConnectionError) as e:
            proxy = getattr(e, "kwargs", {}).get("proxy_url")
            via = f" through proxy {proxy}" if proxy else ""
            endpoint = getattr(e, "kwargs", {}).get("endpoint_url") or self.endpoint_url
            # A closed connection may have carried the request: an MFA code on it is spent.
            error = AwsError if isinstance(e, bx.ConnectionClosedError) else NotSent
            raise error(f"cannot reach {endpoint}{via} ({type(e).__name__})"
                        f"{self._times(once, 'tried')}",
                        "check the network, proxy settings and "
                        f"{self._variable(action, endpoint)}") from None
        except bx.ProfileNotFound as e:
            raise ConfigError(f"{e} (needed by source profile '{self.source_profile}')",
                              "fix the source profile's settings in ~/.aws/config") from None
        except bx.BotoCoreError as e:
            raise AwsError(f"cannot get credentials of source profile '{self.source_profile}': "
                           f"{e}", f"check 'aws sts get-caller-identity --profile "
                           f"{self.source_profile}'") from None

    def _client_error(self, action: str, error, role_arn: str = "", sent_external_id=False,
                      sent_mfa=False, signer: str | None = None, duration: int = 0,
                      hop: str | None = None, asked: str | None = None,
                      sent_code: bool = False) -> UserError:
        """`hop`: the profile whose role the call assumes (a chain's hop before the one asked
        for runs in the asked one's session); `asked`: the profile asked for, named too when it
        is another."""
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        source = f"source profile '{self.source_profile}'"
        hop = hop or self.for_profile
        other = asked is not None and asked != hop
        named = f"profile '{hop}'" + (f" (in the chain of '{asked}')" if other else "")
        setting_of = f" in profile '{hop}'" if other else ""
        whose = f"profile '{hop}'" if other else "the profile"
        if "MultiFactorAuthentication" in message:
            return MfaRejected(f"AWS rejected the MFA code ({action})",
                               "wait for the next code on your device and try again")
        if code in EXPIRED_CODES:
            return AwsError(f"the credentials of {source} have expired ({code})",
                            f"renew them (e.g. aws sso login --profile {self.source_profile}) "
                            "and try again", aws_code=code)
        if code in INVALID_CODES and self.keys is not None:
            return AwsError(f"AWS does not accept the keys of source "
                            f"'{self.source_profile}' ({code})", "store working keys with "
                            f"'xaccount-credproc source add {self.source_profile}'",
                            aws_code=code)
        if code in INVALID_CODES:
            return AwsError(f"AWS does not accept the credentials of {source} ({code})",
                            f"check the keys of profile '{self.source_profile}' in "
                            "~/.aws/credentials", aws_code=code)
        if code == "AccessDenied" and action == "AssumeRole" and sent_code and self.login \
                and signer is None:
            # Whether AWS takes a code on a call signed by console credentials is not
            # published: where it refuses, the console sign-in's own MFA may be what counts.
            return AwsError(f"AWS refused the MFA code on the AssumeRole of {named}, which "
                            f"login '{self.login}' signed (AccessDenied: {message})",
                            f"AWS may count the MFA of your console sign-in instead: remove "
                            f"mfa_serial from profile '{hop}' (and sign in with MFA), or check "
                            f"that the role's trust policy allows {self.login}", aws_code=code)
        if code == "AccessDenied" and action == "AssumeRole":
            for permission, keys in (("sts:SetSourceIdentity", "source_identity"),
                                     ("sts:TagSession", "tags and transitive_tags")):
                if permission in message:
                    return AwsError(
                        f"AWS denied AssumeRole on {role_arn} for {named}: the role's trust "
                        f"policy does not allow {permission}, which {keys} need",
                        f"add {permission} to the actions the trust policy allows your "
                        f"principal, or remove {keys} from {whose}", aws_code=code)
            hints = ["that the role's trust policy allows your source identity"]
            hints.append(f"that external_id{setting_of} matches the trust policy"
                         if sent_external_id else
                         f"whether the role requires an ExternalId (set external_id{setting_of})")
            if not sent_mfa:
                hints.append(f"whether the role requires MFA (set mfa_serial{setting_of})")
            return AwsError(f"AWS denied AssumeRole on {role_arn} for {named} (AccessDenied)",
                            "check " + ", ".join(hints))
        if code == "ValidationError" and "chaining" in message:
            # AWS's wording says role chaining; the rule covers every temporary signer.
            by = signer or (f"the temporary credentials of {source} (SSO, a login, a role or "
                            "another tool's session)")
            return ConfigError(f"{named}: AWS limits a role assumed with temporary credentials "
                               f"to 1 hour, and this AssumeRole ({duration}s) was signed by {by}",
                               f"set duration_seconds = 3600 or less for '{hop}'")
        if code == "ValidationError" and "DurationSeconds" in message:
            return ConfigError(f"{named}: {message}", "lower duration_seconds"
                               f"{setting_of} to the role's maximum session duration")
        if code == "RegionDisabledException":
            return AwsError(f"STS is not activated in region {self.region} ({code})",
                            "activate it in IAM account settings or set another region")
        if action == "ListAccounts" and code in ("AccessDeniedException", "AccessDenied",
                                                 "AWSOrganizationsNotInUseException"):
            return AwsError(f"{source} cannot list the organization's accounts ({code})",
                            "use credentials of the management account or of a delegated "
                            "administrator, with organizations:ListAccounts", aws_code=code)
        return AwsError(f"{action} failed for {self.for_profile}: {code}: {message}"
                        if action == "ListAccounts" else
                        f"{action} failed for {named}: {code}: {message}",
                        "see the AWS message; rerun with --debug for details", aws_code=code)
