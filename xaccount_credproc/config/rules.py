"""The rules a config value must meet: STS's and IAM's own, checked once when the config is
loaded so that nothing later has to second-guess a `Profile`. Each validator returns the value to
keep or raises ConfigError(what, fix); the loader adds the file and line.
"""

import re
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from . import (
    DEFAULT_UNLOCK_TIMEOUT,  # noqa: F401 - where the vault's users look for it
    KEYRING_BACKENDS,  # noqa: F401 - named in messages and README
    MAX_DURATION,  # noqa: F401
    LoginSettings,
    Profile,
    Setting,
    SsoSessionSettings,
    StoredSourceSettings,
    VaultSettings,
    keys,
    partition_of_region,  # noqa: F401 - the rules' users look for it here
)

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

# botocore refreshes at 15 minutes left; serving less makes SDKs call us on nearly every request.
BOTOCORE_REFRESH_WINDOW = 900
# A fetched credential must stay servable for at least this long, or caching is pointless.
MIN_SERVABLE = 600
MAX_INCLUDE_DEPTH = 16
MAX_CONFIG_SIZE = 4 << 20
TOP_LEVEL_KEYS = {"include", "defaults", "profiles", "sources", "logins", "vault",
                  "sso-sessions"}


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
# The rules a value may have to meet, by name (a Setting's `check`): each takes the value, its
# key (for the message) and the setting's `args`, and returns the value to keep or raises
# ConfigError(what, fix).


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


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be true or false, not {_type_name(value)}",
                          f"write it unquoted: {key} = true")
    return value


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _role_arn(value: Any, key: str) -> str:
    value = _string(value, key)
    match = ROLE_ARN_RE.fullmatch(value)
    if not match or match["partition"] not in PARTITIONS:
        raise ConfigError(f"{key} {value!r} is not an IAM role ARN",
                          "expected arn:aws:iam::123456789012:role/NAME")
    return value


def _account_id(value: Any, key: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be a string (a number loses leading zeros)",
                          f'quote it: {key} = "012345678901"')
    value = _string(value, key)
    if not ACCOUNT_ID_RE.fullmatch(value):
        raise ConfigError(f"{key} {value!r} is not a 12-digit AWS account ID",
                          f'write it as {key} = "123456789012"')
    return value


def _role_name(value: Any, key: str) -> str:
    value = _string(value, key)
    path, _, name = value.rpartition("/")
    if not ROLE_NAME_RE.fullmatch(name) or (path and not ROLE_PATH_RE.fullmatch(f"/{path}/")):
        raise ConfigError(f"{key} {value!r} is not a valid IAM role name",
                          "use 1-64 of letters, digits and +=,.@_- (optionally after a path/)")
    return value


def _external_id(value: Any, key: str) -> str:
    value = _string(value, key)
    if not EXTERNAL_ID_RE.fullmatch(value):
        raise ConfigError(f"{key} is not valid for STS",
                          "use 2-1224 of letters, digits and +=,.@:/_-")
    return value


def _mfa_serial(value: Any, key: str) -> str:
    value = _string(value, key)
    ok = MFA_ARN_RE.fullmatch(value) if value.startswith("arn:") else MFA_SERIAL_RE.fullmatch(value)
    if not ok:
        raise ConfigError(f"{key} {value!r} is not an MFA device ARN or serial number",
                          "expected arn:aws:iam::123456789012:mfa/NAME")
    return value


def _command(value: Any, key: str, prints: str) -> str:
    """A command line for a program that prints `prints` (mfa_process, passphrase_process)."""
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


def _profile_name(value: Any, key: str) -> str:
    return check_profile_name(_string(value, key), key)


def _region(value: Any, key: str) -> str:
    value = _string(value, key)
    if not REGION_RE.fullmatch(value):
        raise ConfigError(f"region {value!r} is not an AWS region name",
                          f'write it like {key} = "eu-west-1"')
    return value


def _seconds(value: Any, key: str, low: int, high: int) -> int:
    value = _integer(value, key)
    if not low <= value <= high:
        raise ConfigError(f"{key} {value} is out of range", f"use {low} to {high} seconds")
    return value


def _session_name(value: Any, key: str) -> str:
    value = _string(value, key)
    if not SESSION_NAME_RE.fullmatch(value):
        raise ConfigError(f"{key} {value!r} is not valid for STS",
                          "use 2-64 of letters, digits and +=,.@_-")
    return value


def _choice(value: Any, key: str, *choices: str) -> str:
    value = _string(value, key)
    if value not in choices:
        raise ConfigError(f"{key} {value!r} is not one of {', '.join(choices)}",
                          f'write {key} = "{choices[0]}"')
    return value


def _display_name(value: Any, key: str) -> str:
    value = _string(value, key)
    if not 1 <= len(value) <= 64 or any(ord(c) < 0x20 for c in value):
        raise ConfigError(f"{key} must be 1-64 printable characters",
                          f'write e.g. {key} = "Prod (read-only)"')
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


def _color(value: Any, key: str) -> str:
    color_hex(_string(value, key))
    return value


def _source_identity(value: Any, key: str) -> str:
    """A SourceIdentity, or "{user}" (made the login name when the profile is built)."""
    value = _string(value, key)
    if value == USER_PLACEHOLDER:
        return value
    if not SOURCE_IDENTITY_RE.fullmatch(value) or value.lower().startswith("aws:"):
        raise ConfigError(f"{key} {value!r} is not valid for STS",
                          'use 2-64 of letters, digits and +=,.@_- (not starting with "aws:"), '
                          'or "{user}" for your login name')
    return value


def _tags(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' must be a table of tag names and values, not "
                          f"{_type_name(value)}", 'write tags = { team = "blue" }')
    if len(value) > MAX_TAGS:
        raise ConfigError(f"{key} has {len(value)} tags, more than STS's {MAX_TAGS}",
                          f"keep at most {MAX_TAGS}")
    seen: set[str] = set()
    for name, tag in value.items():
        if not isinstance(tag, str):
            raise ConfigError(f"tag {name!r} must be a string, not {_type_name(tag)}",
                              f'quote it: {name} = "..."')
        if not TAG_KEY_RE.fullmatch(name) or name.lower().startswith("aws:"):
            raise ConfigError(f"tag name {name[:40]!r} is not valid for STS",
                              "use 1-128 letters, digits, spaces and _.:/=+-@ (not starting "
                              'with "aws:")')
        if not TAG_VALUE_RE.fullmatch(tag):
            raise ConfigError(f"the value of tag {name!r} is not valid for STS",
                              "use 0-256 letters, digits, spaces and _.:/=+-@")
        if name.lower() in seen:
            raise ConfigError(f"tag {name!r} is there twice (STS ignores case in tag names)",
                              "keep one of them")
        seen.add(name.lower())
    return dict(value)


def _transitive_tags(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"'{key}' must be a list of tag names", f'write {key} = ["team"]')
    if len(value) > MAX_TAGS:
        raise ConfigError(f"{key} names {len(value)} tags, more than STS's {MAX_TAGS}",
                          f"keep at most {MAX_TAGS}")
    return list(value)


def _sso_role_name(value: Any, key: str) -> str:
    value = _string(value, key)
    if not ROLE_NAME_RE.fullmatch(value):
        raise ConfigError(f"{key} {value!r} is not a valid permission set role name",
                          "use 1-64 of letters, digits and +=,.@_-")
    return value


def _sso_start_url(value: Any, key: str) -> str:
    value = _string(value, key).strip()
    if not value.startswith("https://") or len(value) <= len("https://") or \
            any(c.isspace() for c in value):
        shown = value[:60] + ("..." if len(value) > 60 else "")
        raise ConfigError(f"{key} '{shown}' is not an https URL",
                          "set it to your AWS access portal URL, e.g. "
                          "https://d-1234567890.awsapps.com/start")
    return value


def _sso_scopes(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"'{key}' must be a list of scopes",
                          f'write {key} = ["sso:account:access"]')
    return list(value)


BROWSERS = ("default", "chromium", "chrome", "brave", "edge", "firefox")


def _browser(value: Any, key: str) -> str:
    value = _string(value, key)
    if value in BROWSERS or value.startswith(("/", "~/")):
        return value
    raise ConfigError(f"{key} {value[:40]!r} is not one xaccount-credproc knows",
                      f"use one of {', '.join(BROWSERS)}, or a browser's absolute path with "
                      "browser_family")


CHECKS: dict[str, Callable[..., Any]] = {
    "account_id": _account_id, "boolean": _boolean, "browser": _browser, "choice": _choice,
    "color": _color, "command": _command, "display_name": _display_name,
    "external_id": _external_id, "mfa_serial": _mfa_serial, "profile_name": _profile_name,
    "region": _region, "role_arn": _role_arn, "role_name": _role_name, "seconds": _seconds,
    "session_name": _session_name, "source_identity": _source_identity,
    "sso_role_name": _sso_role_name, "sso_scopes": _sso_scopes,
    "sso_start_url": _sso_start_url, "tags": _tags, "transitive_tags": _transitive_tags,
}


def validator(row: Setting):
    """The function that checks a value of `row` (its rule, its key, its args); a `clearable`
    setting also takes "", which clears what [defaults] set."""
    assert row.check is not None, row
    check, key, args = CHECKS[row.check], row.name, row.args

    def validate(value: Any):
        if row.clearable and value == "":
            return None
        return check(value, key, *args)

    return validate


def _validators(record_class) -> dict[str, Any]:
    return {name: validator(row) for name, row in keys(record_class).items()}


# Each table's keys and their validators, from the one table of settings (config/__init__).
VALIDATORS = _validators(Profile)  # [defaults] and [profiles.NAME]
PROFILE_KEYS = set(VALIDATORS)
SOURCE_VALIDATORS = _validators(StoredSourceSettings)  # [sources.NAME]
SOURCE_KEYS = set(SOURCE_VALIDATORS)
LOGIN_VALIDATORS = _validators(LoginSettings)  # [logins.NAME]
SSO_SESSION_VALIDATORS = _validators(SsoSessionSettings)  # [sso-sessions.NAME]
SSO_SESSION_KEYS = set(SSO_SESSION_VALIDATORS)
VAULT_VALIDATORS = _validators(VaultSettings)  # [vault]
VAULT_KEYS = set(VAULT_VALIDATORS)
# An IAM Identity Center role as a profile: the role credentials come from the portal
# (GetRoleCredentials), so none of the AssumeRole keys apply to it.
SSO_ROLE_KEYS = ("sso_account_id", "sso_role_name")
NOT_FOR_SSO_ROLES = tuple(name for name, row in keys(Profile).items() if row.assume_role)
# What a login takes from [defaults].
LOGIN_INHERITS = tuple(name for name, row in keys(LoginSettings).items() if row.inherited)
# What a stored source takes from [defaults], as profiles do.
SOURCE_INHERITS = tuple(name for name, row in keys(StoredSourceSettings).items()
                        if row.inherited)
