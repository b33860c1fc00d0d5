"""The rules a config value must meet: STS's and IAM's own, checked once when the config is
loaded so that nothing later has to second-guess a `Profile`. Each validator returns the value to
keep or raises ConfigError(what, fix); the loader adds the file and line.
"""

import re
from typing import Any

from ..errors import ConfigError

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f",
              "aws-eusc")

# STS and IAM character classes; `\w` there means ASCII word characters.
_A = re.ASCII
# Safe in an INI header, on a command line (shlex, sh -c, Windows) and as a TOML key.
PROFILE_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}", _A)
ROLE_NAME_RE = re.compile(r"[\w+=,.@-]{1,64}", _A)
ROLE_PATH_RE = re.compile(r"(/[\w+=,.@-]+)*/", _A)
ROLE_ARN_RE = re.compile(
    r"arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):role(?P<path>(/[\w+=,.@-]+)*/)"
    r"(?P<name>[\w+=,.@-]{1,64})", _A)
MFA_ARN_RE = re.compile(r"arn:[a-z-]+:iam::\d{12}:(mfa|u2f)/[\w+=,.@/-]{1,512}", _A)
MFA_SERIAL_RE = re.compile(r"[\w+=/:,.@-]{9,256}", _A)
EXTERNAL_ID_RE = re.compile(r"[\w+=,.@:/-]{2,1224}", _A)
SESSION_NAME_RE = re.compile(r"[\w+=,.@-]{2,64}", _A)
ACCOUNT_ID_RE = re.compile(r"\d{12}", _A)
# us-east-1, us-gov-west-1, us-isob-east-1, eusc-de-east-1 (the European Sovereign Cloud).
REGION_RE = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}", _A)

MAX_DURATION = 43200
STS_MIN_DURATION = 900
# botocore refreshes at 15 minutes left; serving less makes SDKs call us on nearly every request.
BOTOCORE_REFRESH_WINDOW = 900
MIN_REFRESH_MARGIN = 960
# A fetched credential must stay servable for at least this long, or caching is pointless.
MIN_SERVABLE = 600
CACHE_MODES = ("keyring", "none")
MFA_PROMPTS = ("auto", "terminal", "dialog")
KEYRING_BACKENDS = ("auto", "secret-service", "kernel", "vault")  # "vault": sources only
MAX_INCLUDE_DEPTH = 16
MAX_CONFIG_SIZE = 4 << 20

PROFILE_KEYS = {
    "role_arn", "account_id", "role_name", "external_id", "mfa_serial", "mfa_process",
    "source_profile", "region", "duration_seconds", "role_session_name", "refresh_margin",
    "cache", "mfa_session", "mfa_session_duration", "output", "display_name", "color",
    "mfa_prompt", "keyring_backend", "source_identity", "tags", "transitive_tags",
    "sso_session", "sso_account_id", "sso_role_name", "sso_synced", "browser", "browser_family",
}
# An IAM Identity Center role as a profile: the role credentials come from the portal
# (GetRoleCredentials), so none of the AssumeRole keys apply to it.
SSO_ROLE_KEYS = ("sso_account_id", "sso_role_name")
NOT_FOR_SSO_ROLES = ("role_arn", "account_id", "role_name", "source_profile", "external_id",
                     "mfa_serial", "mfa_process", "duration_seconds", "role_session_name",
                     "mfa_session", "mfa_session_duration", "source_identity", "tags",
                     "transitive_tags")
TOP_LEVEL_KEYS = {"include", "defaults", "profiles", "sources", "vault", "sso-sessions"}
# [sso-sessions.NAME]: an IAM Identity Center session, as [sso-session NAME] of the AWS config.
SSO_SESSION_KEYS = {"sso_start_url", "sso_region", "sso_registration_scopes"}
# [vault]: the encrypted file that keeps stored sources where no desktop keyring answers.
VAULT_KEYS = {"passphrase_process", "unlock_timeout"}
DEFAULT_UNLOCK_TIMEOUT = 12 * 3600
# [sources.NAME]: an IAM user whose long-term keys live in the OS keyring (`source add`).
SOURCE_KEYS = {"mfa_serial", "mfa_process", "mfa_prompt", "region", "output", "aws_profile",
               "mfa_session_duration", "keyring_backend"}



def partition_of_region(region: str | None) -> str:
    if not region:
        return "aws"
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"),
                              ("us-isob-", "aws-iso-b"), ("us-iso-", "aws-iso"),
                              ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f"),
                              ("eusc-", "aws-eusc")):
        if region.startswith(prefix):
            return partition
    return "aws"


def default_session_name() -> str:
    """The local user name, made valid for RoleSessionName (it shows in CloudTrail)."""
    return login_name() or "xaccount-credproc"


# SourceIdentity and session tags (AssumeRole API reference; IAM User Guide, "Passing session
# tags in AWS STS"). A tag's characters are Unicode letters, digits, spaces and _.:/=+-@.
SOURCE_IDENTITY_RE = re.compile(r"[\w+=,.@-]{2,64}", _A)
TAG_KEY_RE = re.compile(r"[\w\s.:/=+@-]{1,128}")
TAG_VALUE_RE = re.compile(r"[\w\s.:/=+@-]{0,256}")
MAX_TAGS = 50
USER_PLACEHOLDER = "{user}"


def login_name() -> str:
    """The local user name, made valid for RoleSessionName and SourceIdentity ("" if there is
    none, or too little of it)."""
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = ""
    cleaned = re.sub(r"[^\w+=,.@-]", "-", user, flags=re.ASCII)[:64]
    return cleaned if len(cleaned) >= 2 else ""


def unknown_profile(name: str, path, known: list[str]) -> ConfigError:
    """The error for a profile name that is not in the config. The name comes from a command
    line: a valid name is quoted whole, anything else (a secret pasted by mistake, a 5000
    characters long accident) only by its first characters, and `add` is suggested only for a
    name it would take."""
    from ..errors import ProfileNotFound

    listed = ", ".join(known) or "none"
    if PROFILE_NAME_RE.fullmatch(name):
        return ProfileNotFound(f"profile '{name}' is not in {path} (known profiles: {listed})",
                               f"add it with 'xaccount-credproc add {name} --role-arn ARN' or "
                               "fix the name")
    shown = name[:8] + (f"... ({len(name)} characters)" if len(name) > 8 else "")
    return ProfileNotFound(f"there is no profile {shown!r} in {path}, and it is not a valid "
                           f"profile name (known profiles: {listed})",
                           "profile names are 1-128 of letters, digits and _.@+- (not "
                           "starting with one of .@+-): check the name")


def check_profile_name(name: str, what: str = "profile name") -> str:
    """Names appear in an INI header and on a command line: allow only what is safe in both."""
    if not isinstance(name, str) or not PROFILE_NAME_RE.fullmatch(name):
        raise ConfigError(
            f"{what} {name!r} is not allowed",
            "use 1-128 of letters, digits and _.@+- (not starting with one of .@+-)",
        )
    return name



# ---------------------------------------------------------------------------------------------
# Per-key validation: each returns the value to keep or raises ConfigError(what, fix).


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"'{key}' must be a string, not {_type_name(value)}",
                          f'quote it: {key} = "..."')
    return value


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"'{key}' must be a whole number of seconds, not {_type_name(value)}",
                          f"write it unquoted: {key} = 3600")
    return value


def boolean(key: str):
    def validate(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}' must be true or false, not {_type_name(value)}",
                              f"write it unquoted: {key} = true")
        return value

    return validate


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _optional(check):
    """Keys that [defaults] may set and a profile may clear again with an empty string."""

    def validate(value: Any) -> str | None:
        return None if value == "" else check(value)

    return validate


def _role_arn(value: Any) -> str:
    value = _string(value, "role_arn")
    match = ROLE_ARN_RE.fullmatch(value)
    if not match or match["partition"] not in PARTITIONS:
        raise ConfigError(f"role_arn {value!r} is not an IAM role ARN",
                          "expected arn:aws:iam::123456789012:role/NAME")
    return value


def _account_id(value: Any, key: str = "account_id") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be a string (a number loses leading zeros)",
                          f'quote it: {key} = "012345678901"')
    value = _string(value, key)
    if not ACCOUNT_ID_RE.fullmatch(value):
        raise ConfigError(f"{key} {value!r} is not a 12-digit AWS account ID",
                          f'write it as {key} = "123456789012"')
    return value


def _role_name(value: Any) -> str:
    value = _string(value, "role_name")
    path, _, name = value.rpartition("/")
    if not ROLE_NAME_RE.fullmatch(name) or (path and not ROLE_PATH_RE.fullmatch(f"/{path}/")):
        raise ConfigError(f"role_name {value!r} is not a valid IAM role name",
                          "use 1-64 of letters, digits and +=,.@_- (optionally after a path/)")
    return value


def _external_id(value: Any) -> str:
    value = _string(value, "external_id")
    if not EXTERNAL_ID_RE.fullmatch(value):
        raise ConfigError("external_id is not valid for STS",
                          "use 2-1224 of letters, digits and +=,.@:/_-")
    return value


def _mfa_serial(value: Any) -> str:
    value = _string(value, "mfa_serial")
    ok = MFA_ARN_RE.fullmatch(value) if value.startswith("arn:") else MFA_SERIAL_RE.fullmatch(value)
    if not ok:
        raise ConfigError(f"mfa_serial {value!r} is not an MFA device ARN or serial number",
                          "expected arn:aws:iam::123456789012:mfa/NAME")
    return value


def _mfa_process(value: Any, key: str = "mfa_process", prints: str = "the code") -> str:
    import shlex

    value = _string(value, key)
    try:
        words = shlex.split(value)
    except ValueError as e:
        raise ConfigError(f"{key} cannot be split into words: {e}",
                          "check its quotes") from None
    if not words:
        raise ConfigError(f"{key} is empty", f"name a command that prints {prints}")
    return value




def _source_profile(value: Any) -> str:
    return check_profile_name(_string(value, "source_profile"), "source_profile")


def _region(value: Any) -> str:
    value = _string(value, "region")
    if not REGION_RE.fullmatch(value):
        raise ConfigError(f"region {value!r} is not an AWS region name",
                          'write it like region = "eu-west-1"')
    return value


def _bounded(key: str, low: int, high: int):
    def validate(value: Any) -> int:
        value = _integer(value, key)
        if not low <= value <= high:
            raise ConfigError(f"{key} {value} is out of range", f"use {low} to {high} seconds")
        return value

    return validate


def _session_name(value: Any) -> str:
    value = _string(value, "role_session_name")
    if not SESSION_NAME_RE.fullmatch(value):
        raise ConfigError(f"role_session_name {value!r} is not valid for STS",
                          "use 2-64 of letters, digits and +=,.@_-")
    return value


def _choice(key: str, choices: tuple[str, ...]):
    def validate(value: Any) -> str:
        value = _string(value, key)
        if value not in choices:
            raise ConfigError(f"{key} {value!r} is not one of {', '.join(choices)}",
                              f'write {key} = "{choices[0]}"')
        return value

    return validate


def _output(value: Any) -> str:
    return _choice("output", ("json", "text", "table", "yaml", "yaml-stream"))(value)


def _display_name(value: Any) -> str:
    value = _string(value, "display_name")
    if not 1 <= len(value) <= 64 or any(ord(c) < 0x20 for c in value):
        raise ConfigError("display_name must be 1-64 printable characters",
                          'write e.g. display_name = "Prod (read-only)"')
    return value


# The console's own switch-role palette.
COLORS = {"red": "F2B0A9", "orange": "FBBF93", "yellow": "FAD791", "green": "B7CA9D",
          "blue": "99BCE3"}


def color_hex(color: str) -> str:
    """A switch-role colour: a named one or hex (with or without #), as hex without #."""
    value = COLORS.get(color.lower(), color.lstrip("#"))
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", value):
        raise ConfigError(f"color {color!r} is neither a name ({', '.join(COLORS)}) nor a hex "
                          "colour", 'write e.g. color = "blue" or color = "#99BCE3"')
    return value.upper()


def _color(value: Any) -> str:
    color_hex(_string(value, "color"))
    return value


def _source_identity(value: Any) -> str:
    """A SourceIdentity, or "{user}" (made the login name when the profile is built)."""
    value = _string(value, "source_identity")
    if value == USER_PLACEHOLDER:
        return value
    if not SOURCE_IDENTITY_RE.fullmatch(value) or value.lower().startswith("aws:"):
        raise ConfigError(f"source_identity {value!r} is not valid for STS",
                          'use 2-64 of letters, digits and +=,.@_- (not starting with "aws:"), '
                          'or "{user}" for your login name')
    return value


def _tags(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"'tags' must be a table of tag names and values, not "
                          f"{_type_name(value)}", 'write tags = { team = "blue" }')
    if len(value) > MAX_TAGS:
        raise ConfigError(f"tags has {len(value)} tags, more than STS's {MAX_TAGS}",
                          f"keep at most {MAX_TAGS}")
    seen: set[str] = set()
    for key, tag in value.items():
        if not isinstance(tag, str):
            raise ConfigError(f"tag {key!r} must be a string, not {_type_name(tag)}",
                              f'quote it: {key} = "..."')
        if not TAG_KEY_RE.fullmatch(key) or key.lower().startswith("aws:"):
            raise ConfigError(f"tag name {key[:40]!r} is not valid for STS",
                              "use 1-128 letters, digits, spaces and _.:/=+-@ (not starting "
                              'with "aws:")')
        if not TAG_VALUE_RE.fullmatch(tag):
            raise ConfigError(f"the value of tag {key!r} is not valid for STS",
                              "use 0-256 letters, digits, spaces and _.:/=+-@")
        if key.lower() in seen:
            raise ConfigError(f"tag {key!r} is there twice (STS ignores case in tag names)",
                              "keep one of them")
        seen.add(key.lower())
    return dict(value)


def _transitive_tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ConfigError("'transitive_tags' must be a list of tag names",
                          'write transitive_tags = ["team"]')
    if len(value) > MAX_TAGS:
        raise ConfigError(f"transitive_tags names {len(value)} tags, more than STS's "
                          f"{MAX_TAGS}", f"keep at most {MAX_TAGS}")
    return list(value)


def _sso_role_name(value: Any) -> str:
    value = _string(value, "sso_role_name")
    if not ROLE_NAME_RE.fullmatch(value):
        raise ConfigError(f"sso_role_name {value!r} is not a valid permission set role name",
                          "use 1-64 of letters, digits and +=,.@_-")
    return value


def _sso_session(value: Any) -> str:
    return check_profile_name(_string(value, "sso_session"), "sso_session")


def _sso_start_url(value: Any) -> str:
    value = _string(value, "sso_start_url").strip()
    if not value.startswith("https://") or len(value) <= len("https://") or \
            any(c.isspace() for c in value):
        shown = value[:60] + ("..." if len(value) > 60 else "")
        raise ConfigError(f"sso_start_url '{shown}' is not an https URL",
                          "set it to your AWS access portal URL, e.g. "
                          "https://d-1234567890.awsapps.com/start")
    return value


def _sso_scopes(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError("'sso_registration_scopes' must be a list of scopes",
                          'write sso_registration_scopes = ["sso:account:access"]')
    return list(value)


SSO_SESSION_VALIDATORS = {
    "sso_start_url": _sso_start_url,
    "sso_region": lambda value: _region(value),
    "sso_registration_scopes": _sso_scopes,
}

BROWSERS = ("default", "chromium", "chrome", "brave", "edge", "firefox")


def _browser(value: Any) -> str:
    value = _string(value, "browser")
    if value in BROWSERS or value.startswith(("/", "~/")):
        return value
    raise ConfigError(f"browser {value[:40]!r} is not one xaccount-credproc knows",
                      f"use one of {', '.join(BROWSERS)}, or a browser's absolute path with "
                      "browser_family")


VALIDATORS = {
    "role_arn": _role_arn,
    "account_id": _account_id,
    "role_name": _role_name,
    "external_id": _optional(_external_id),
    "mfa_serial": _optional(_mfa_serial),
    "mfa_process": _optional(_mfa_process),
    "source_profile": _source_profile,
    "region": _region,
    "duration_seconds": _bounded("duration_seconds", STS_MIN_DURATION, MAX_DURATION),
    "role_session_name": _session_name,
    "refresh_margin": _bounded("refresh_margin", MIN_REFRESH_MARGIN, MAX_DURATION),
    "cache": _choice("cache", CACHE_MODES),
    "mfa_session": boolean("mfa_session"),
    "mfa_session_duration": _bounded("mfa_session_duration", STS_MIN_DURATION, 129600),
    "output": _output,
    "display_name": _display_name,
    "color": _color,
    "mfa_prompt": _choice("mfa_prompt", MFA_PROMPTS),
    "keyring_backend": _choice("keyring_backend", KEYRING_BACKENDS),
    "source_identity": _optional(_source_identity),
    "tags": _tags,
    "transitive_tags": _transitive_tags,
    "sso_session": _sso_session,
    "sso_account_id": lambda value: _account_id(value, "sso_account_id"),
    "sso_role_name": _sso_role_name,
    "sso_synced": boolean("sso_synced"),  # written by `sso sync`: what --prune may remove
    "browser": _browser,
    "browser_family": _choice("browser_family", ("chromium", "firefox")),
}

VAULT_VALIDATORS = {
    "passphrase_process": lambda value: _mfa_process(value, "passphrase_process",
                                                     "the passphrase"),
    "unlock_timeout": _bounded("unlock_timeout", 60, 7 * 24 * 3600),
}

