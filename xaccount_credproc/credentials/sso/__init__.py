"""IAM Identity Center (SSO): the sessions the AWS config names, and their tokens.

`SsoSession` is an `[sso-session NAME]` of the AWS config (or a legacy profile's own
`sso_start_url`), read through botocore so that it means exactly what it means to the AWS CLI.
`TokenFile` is the session's token where the AWS CLI and botocore keep it,
`~/.aws/sso/cache/<sha1 of the session name>.json` (legacy profiles: of the start URL), in their
format: after our login `aws`, boto3 and every SDK use it, and a login made by `aws sso login`
serves us. It is replaced atomically (mode 0600, in a 0700 directory). `login.py` has the two
ways in, and the renewal (`fresh_token`), which happens under the session's lock and reads the
file again under it (another process, or botocore, may have just renewed it): N callers, one
CreateToken, no lost update. The browser comes back to web/loopback.py's one-shot listener,
as every sign-in's does.

Nothing here is on the cache-hit path.
"""

import hashlib
import json
import os
import time

from ...errors import ConfigError, UserError
from ..sign_in import LoginNeeded

__all__ = ["LoginNeeded", "SsoSession", "TokenFile", "all_sessions", "parse_timestamp",
           "session_from_profile", "session_named", "session_of_profile", "state", "timestamp"]

# Renewed from this much left: botocore renews from 15 minutes and fails on an expired token,
# so a helper that renews earlier leaves botocore nothing to do.
REFRESH_MARGIN = 20 * 60
TOKEN_FIELDS = ("startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
                "registrationExpiresAt", "refreshToken")


def timestamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_timestamp(text) -> float | None:
    """An ISO 8601 UTC time as the AWS CLI and botocore write it ("...Z" or "+00:00", with or
    without fractions), as epoch seconds; None when it is not one."""
    import calendar

    if not isinstance(text, str):
        return None
    text = text.strip().replace("+00:00", "Z").replace("UTC", "Z")
    if text.endswith("Z"):
        text = text[:-1]
    text = text.split(".")[0]
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


class SsoSession:
    """Where a person signs in: the access portal's start URL, the Identity Center region, the
    scopes the client registers for."""

    def __init__(self, name: str | None, start_url: str, region: str, scopes: list[str]):
        self.name, self.start_url, self.region, self.scopes = name, start_url, region, scopes

    @property
    def label(self) -> str:
        return f"sso-session '{self.name}'" if self.name else f"start URL {self.start_url}"

    @property
    def login_command(self) -> str:
        which = f"--sso-session {self.name}" if self.name else "--profile PROFILE"
        return f"'xaccount-credproc sso login {which}' (or 'aws sso login {which}')"

    def token_file(self) -> "TokenFile":
        return TokenFile(self)


def aws_config() -> dict:
    import botocore.session

    try:
        return botocore.session.Session().full_config
    except Exception as e:  # botocore's parse errors have no common base class
        raise ConfigError(f"cannot read the AWS config: {e}",
                          "fix the file ($AWS_CONFIG_FILE or ~/.aws/config)") from None


def session_named(name: str) -> SsoSession:
    config = aws_config()
    sessions = config.get("sso_sessions", {})
    if name not in sessions:
        known = ", ".join(sorted(sessions)) or "none"
        raise ConfigError(f"there is no [sso-session {name}] in the AWS config (known: {known})",
                          "add it (aws configure sso-session) or fix the name")
    return _session(name, sessions[name])


def session_from_profile(profile) -> SsoSession:
    """The session of an Identity Center role profile of the TOML (its `sso`): the TOML's
    [sso-sessions.NAME] settings, else the AWS config's [sso-session NAME]."""
    sso = profile.sso
    if sso.start_url is None:
        return session_named(sso.session)
    return SsoSession(sso.session, sso.start_url, sso.region, sso.scopes)


def all_sessions() -> list[SsoSession]:
    """Every [sso-session NAME] of the AWS config, by name."""
    sessions = aws_config().get("sso_sessions", {})
    return [_session(name, sessions[name]) for name in sorted(sessions)]


def session_of_profile(profile: str) -> SsoSession:
    """The session an AWS profile signs in with: its sso_session, or its own sso_start_url."""
    config = aws_config()
    section = config.get("profiles", {}).get(profile)
    if section is None:
        raise ConfigError(f"there is no profile '{profile}' in the AWS config",
                          "fix the name, or name the session with --sso-session")
    if section.get("sso_session"):
        return session_named(section["sso_session"])
    if section.get("sso_start_url"):
        return _session(None, {"sso_start_url": section["sso_start_url"],
                               "sso_region": section.get("sso_region")}, f"profile '{profile}'")
    raise ConfigError(f"profile '{profile}' has no sso_session or sso_start_url",
                      "name an IAM Identity Center profile, or use --sso-session")


def _session(name: str | None, section: dict, where: str | None = None) -> SsoSession:
    where = where or f"[sso-session {name}]"
    url = (section.get("sso_start_url") or "").strip()
    if not url.startswith("https://") or len(url) <= len("https://"):
        shown = (url[:60] + "...") if len(url) > 60 else url
        raise ConfigError(f"{where}: sso_start_url '{shown}' is not an https URL",
                          "set it to your AWS access portal URL, e.g. "
                          "https://d-1234567890.awsapps.com/start")
    region = (section.get("sso_region") or "").strip()
    if not region:
        raise ConfigError(f"{where} has no sso_region",
                          "set sso_region to the region of your IAM Identity Center")
    scopes = [s.strip() for s in (section.get("sso_registration_scopes") or "").split(",")
              if s.strip()]
    return SsoSession(name, url, region, scopes)


class TokenFile:
    """The session's token file, shared with the AWS CLI and botocore."""

    def __init__(self, session: SsoSession):
        from ... import files

        self.session = session
        key = session.name if session.name else session.start_url
        digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()
        self.directory = os.path.join(files.home(), ".aws", "sso", "cache")
        self.path = os.path.join(self.directory, digest + ".json")
        self.lock_name = "sso-token/" + digest

    def read(self) -> dict | None:
        """The token document, or None when there is none (or it is not one)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                document = json.loads(f.read(1 << 20))
        except (OSError, ValueError):
            return None
        return document if isinstance(document, dict) else None

    def write(self, document: dict) -> None:
        from ... import files

        for part in (os.path.dirname(os.path.dirname(self.directory)),
                     os.path.dirname(self.directory), self.directory):
            try:
                os.mkdir(part, 0o700)
            except FileExistsError:
                pass
            except OSError as e:
                raise UserError(f"cannot create {part} ({e.strerror})",
                                "check the permissions of ~/.aws") from None
        try:
            os.chmod(self.directory, 0o700)
            files.replace_atomically(self.path, json.dumps(document, indent=2).encode("utf-8"))
        except OSError as e:
            raise UserError(f"cannot write the IAM Identity Center token to {self.path} "
                            f"({e.strerror})", "check the permissions of ~/.aws/sso/cache") \
                from None

    def remove(self) -> bool:
        try:
            os.unlink(self.path)
            return True
        except FileNotFoundError:
            return False

    @staticmethod
    def seconds_left(document: dict | None, field: str = "expiresAt") -> float:
        when = parse_timestamp((document or {}).get(field))
        return -1.0 if when is None else when - time.time()


def state(session: SsoSession) -> tuple[str, bool, bool]:
    """(a line saying whether and until when `session` is signed in, whether it is signed in
    now, whether it can be renewed without a person): never the token."""
    document = TokenFile(session).read()
    left = TokenFile.seconds_left(document)
    renewable = bool(document and document.get("refreshToken")
                     and TokenFile.seconds_left(document, "registrationExpiresAt") > 0)
    if document is None:
        text = "not signed in"
    elif left > 0:
        hours, minutes = divmod(int(left // 60), 60)
        text = f"signed in until {document.get('expiresAt')} ({hours}h{minutes:02d}m left)"
    else:
        text = f"expired at {document.get('expiresAt')}"
    if renewable:
        text += ("; renewed without a person until "
                 f"{(document or {}).get('registrationExpiresAt')}")
    return text, left > 0, renewable
