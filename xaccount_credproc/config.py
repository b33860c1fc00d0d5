"""The TOML config model: loading, includes, [defaults] inheritance and validation.

Keys are named as AWS users know them from ~/.aws/config. Every value is checked against STS's own
rules here, once, so that nothing later has to second-guess a `Profile`. Errors name the file, the
line and the key.
"""

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, ProfileNotFound
from .profile import CHAINED_MAX_DURATION, DEFAULT_MFA_SESSION_DURATION, MAX_CHAIN, Profile

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
KEYRING_BACKENDS = ("auto", "secret-service", "kernel")  # store.BACKENDS, without importing it
MAX_INCLUDE_DEPTH = 16
MAX_CONFIG_SIZE = 4 << 20

PROFILE_KEYS = {
    "role_arn", "account_id", "role_name", "external_id", "mfa_serial", "mfa_process",
    "source_profile", "region", "duration_seconds", "role_session_name", "refresh_margin",
    "cache", "mfa_session", "mfa_session_duration", "output", "display_name", "color",
    "mfa_prompt", "keyring_backend",
}
TOP_LEVEL_KEYS = {"include", "defaults", "profiles", "sources"}
# [sources.NAME]: an IAM user whose long-term keys live in the OS keyring (`source add`).
SOURCE_KEYS = {"mfa_serial", "mfa_process", "mfa_prompt", "region", "aws_profile",
               "mfa_session_duration", "keyring_backend"}


@dataclass
class Config:
    """A loaded config: the merged [defaults] and [profiles.*] tables of the file and its includes."""

    path: Path
    defaults: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Which file (and its text) set each key last: ("defaults", key) or ("profiles", name, key).
    origins: dict[tuple, tuple[Path, str]] = field(default_factory=dict, repr=False)
    _resolved: dict[str, Profile] = field(default_factory=dict, repr=False)
    _resolving: list[str] = field(default_factory=list, repr=False)

    def names(self) -> list[str]:
        return sorted(self.profiles)

    def resolve(self, name: str) -> Profile:
        if name not in self.profiles:
            known = ", ".join(self.names()) or "none"
            raise ProfileNotFound(
                f"profile '{name}' is not in {self.path} (known profiles: {known})",
                f"add it with 'xaccount-credproc add {name} --role-arn ARN' or fix the name",
            )
        if name not in self._resolved:  # load() resolves every profile; callers again
            if name in self._resolving:  # a source_profile cycle
                cycle = self._resolving[self._resolving.index(name):] + [name]
                raise ConfigError(
                    f"{self.where(cycle[0], 'source_profile')}source_profile makes a cycle: "
                    f"{' -> '.join(cycle)}", "end the chain at a profile whose source_profile is "
                    "an AWS profile with its own credentials (keys, SSO, ...)")
            profile = build_profile(name, self.defaults, self.profiles[name], self.path)
            if profile.source_profile in self.sources:
                profile.stored_source = source(self, profile.source_profile).keyring_backend
            if profile.source_profile in self.profiles:
                self._resolving.append(name)
                try:
                    profile.via = self.resolve(profile.source_profile)
                finally:
                    self._resolving.pop()
                self._check_chained(profile)
            self._resolved[name] = profile
        return self._resolved[name]

    def _check_chained(self, profile: Profile) -> None:
        """The rules for a profile whose source is another profile's role (role chaining)."""
        name, hops = profile.name, profile.chain
        if len(hops) > MAX_CHAIN:
            raise ConfigError(
                f"{self.where(name, 'source_profile')}profile '{name}' is reached through "
                f"{len(hops)} roles ({profile.chain_text()}), more than {MAX_CHAIN}",
                "assume the role from a profile nearer the start of the chain")
        if profile.duration_seconds > CHAINED_MAX_DURATION:
            raise ConfigError(
                f"{self.where(name, 'duration_seconds')}profile '{name}': duration_seconds "
                f"{profile.duration_seconds} is over {CHAINED_MAX_DURATION}, AWS's limit for a "
                f"role assumed with role credentials (its source '{profile.via.name}' is a role)",
                f"set duration_seconds = {CHAINED_MAX_DURATION} or less for '{name}'")
        if profile.mfa_serial and profile.mfa_session and self.sets(name, "mfa_session"):
            raise ConfigError(
                f"{self.where(name, 'mfa_session')}profile '{name}' asks for an MFA session, but "
                f"its source '{profile.via.name}' is a role with temporary credentials and "
                "GetSessionToken needs an IAM user's long-term keys",
                f"set mfa_session = false for '{name}' (the MFA code then goes on its AssumeRole), "
                f"or put mfa_serial on the first hop only")

    def source_as_profile(self, name: str) -> Profile:
        """What serves a stored source's IAM user itself (`credential-process --source NAME`):
        its own session, from GetSessionToken, with its MFA device if it has one."""
        stored = source(self, name)
        return Profile(name=name, role_arn="", source_profile=name, region=stored.region,
                       mfa_serial=stored.mfa_serial, mfa_process=stored.mfa_process,
                       mfa_prompt=stored.mfa_prompt, role_session_name=name,
                       mfa_session_duration=stored.mfa_session_duration,
                       keyring_backend=stored.keyring_backend,
                       stored_source=stored.keyring_backend)

    def sets(self, name: str, key: str) -> bool:
        """Whether the profile's own table or [defaults] sets `key` (not a built-in default)."""
        return ("profiles", name, key) in self.origins or ("defaults", key) in self.origins

    def where(self, name: str, key: str) -> str:
        """"FILE:LINE: " of the key that gives profile `name` its `key` (its own table, else
        [defaults]), for error messages."""
        if ("profiles", name, key) in self.origins:
            path, text = self.origins[("profiles", name, key)]
            return _where(path, text, ("profiles", name), key)
        if ("defaults", key) in self.origins:
            path, text = self.origins[("defaults", key)]
            return _where(path, text, ("defaults",), key)
        if ("profiles", name) in self.origins:
            path, text = self.origins[("profiles", name)]
            return _where(path, text, ("profiles",), name)
        return f"{self.path}: "


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
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = ""
    cleaned = re.sub(r"[^\w+=,.@-]", "-", user, flags=re.ASCII)[:64]
    return cleaned if len(cleaned) >= 2 else "xaccount-credproc"


def check_profile_name(name: str, what: str = "profile name") -> str:
    """Names appear in an INI header and on a command line: allow only what is safe in both."""
    if not isinstance(name, str) or not PROFILE_NAME_RE.fullmatch(name):
        raise ConfigError(
            f"{what} {name!r} is not allowed",
            "use 1-128 of letters, digits and _.@+- (not starting with one of .@+-)",
        )
    return name


# ---------------------------------------------------------------------------------------------
# Loading


def load(path) -> Config:
    """Load `path` and its includes. Included files come first; the including file overrides."""
    path = Path(path)
    config = Config(path=path)
    _load_into(config, path, stack=())
    for name in config.sources:
        if name in config.profiles:
            path_, text_ = config.origins[("sources", name)]
            raise ConfigError(f"{_where(path_, text_, ('sources',), name)}'{name}' is both a "
                              "stored source and a profile", "rename one of them")
    for name in config.profiles:
        # Validate every profile (and chain) now, so a typo anywhere is reported by any command.
        config.resolve(name)
    return config


def _load_into(config: Config, path: Path, stack: tuple[Path, ...]) -> None:
    path = path.expanduser()
    real = Path(os.path.realpath(path))
    if real in stack:
        chain = " -> ".join(str(p) for p in (*stack, real))
        raise ConfigError(f"include cycle: {chain}", "remove one of these includes")
    if len(stack) >= MAX_INCLUDE_DEPTH:
        raise ConfigError(f"{stack[-1]}: includes nest more than {MAX_INCLUDE_DEPTH} deep",
                          "include the files from one place instead of in a chain")
    data, text = _read_toml(path, stack)
    config.files.append(real)

    unknown = set(data) - TOP_LEVEL_KEYS
    for key in sorted(unknown):
        raise ConfigError(f"{_where(path, text, (), key)}unknown key '{key}'",
                          "top-level keys are include, [defaults] and [profiles.NAME]")

    include = data.get("include", [])
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise ConfigError(f"{_where(path, text, (), 'include')}'include' must be a list of "
                          "file names", 'write include = ["team.toml"]')
    for entry in include:
        _load_into(config, (path.parent / entry).expanduser(), (*stack, real))

    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{_where(path, text, (), 'defaults')}'defaults' must be a table",
                          "write it as [defaults]")
    config.defaults.update(_check_table(defaults, path, text, ("defaults",)))
    for key in defaults:
        config.origins[("defaults", key)] = (path, text)

    for name, table in _named_tables(data, "profiles", "profile", path, text):
        merged = config.profiles.setdefault(name, {})
        merged.update(_check_table(table, path, text, ("profiles", name)))
        config.origins[("profiles", name)] = (path, text)
        for key in table:
            config.origins[("profiles", name, key)] = (path, text)

    for name, table in _named_tables(data, "sources", "source", path, text):
        for key in table:
            if key not in SOURCE_KEYS:
                raise ConfigError(f"{_where(path, text, ('sources', name), key)}unknown key "
                                  f"'{key}' in a source", f"known keys: {', '.join(sorted(SOURCE_KEYS))}")
        checked = _check_table({k: v for k, v in table.items() if k != "aws_profile"}, path,
                               text, ("sources", name))
        if "aws_profile" in table:
            try:
                checked["aws_profile"] = _boolean("aws_profile")(table["aws_profile"])
            except ConfigError as e:
                raise ConfigError(f"{_where(path, text, ('sources', name), 'aws_profile')}"
                                  f"{e.what}", e.fix) from None
        config.sources.setdefault(name, {}).update(checked)
        config.origins[("sources", name)] = (path, text)


def _named_tables(data: dict, key: str, kind: str, path: Path, text: str):
    """(name, table) of each [KEY.NAME] table, names and types checked."""
    tables = data.get(key, {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{_where(path, text, (), key)}'{key}' must hold tables",
                          f"write each {kind} as [{key}.NAME]")
    for name, table in tables.items():
        try:
            check_profile_name(name, "profile name" if kind == "profile" else f"{kind} name")
        except ConfigError as e:
            raise ConfigError(f"{_where(path, text, (key,), name)}{e.what}", e.fix) from None
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(path, text, (key,), name)}{kind} '{name}' must be a "
                              "table", f"write it as [{key}.{name}]")
        yield name, table


def _read_text(path: Path) -> str:
    """A config file's text: only a regular file (a FIFO would block, /dev/zero never ends),
    at most MAX_CONFIG_SIZE bytes, UTF-8 with or without the BOM Windows editors write."""
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"config file {path} is not a regular file",
                              "point the config (or include) at a plain file")
        data = f.read(MAX_CONFIG_SIZE + 1)
    if len(data) > MAX_CONFIG_SIZE:
        raise ConfigError(f"config file {path} is larger than {MAX_CONFIG_SIZE // 1024} KiB",
                          "check that it is the right file")
    return data.decode("utf-8").removeprefix("\ufeff")


def _read_toml(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], str]:
    try:
        text = _read_text(path)
    except FileNotFoundError:
        if stack:
            raise ConfigError(f"{stack[-1]}: included file {path} does not exist",
                              "create it or remove it from 'include'") from None
        raise ConfigError(f"config file {path} does not exist",
                          "create it with 'xaccount-credproc add NAME --role-arn ARN', "
                          "or point --config / XACCOUNT_CREDPROC_CONFIG at yours") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}",
                          "check its permissions and that it is UTF-8") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}", "fix the syntax at that line") from None


def _check_table(table: dict[str, Any], path: Path, text: str,
                 table_path: tuple[str, ...]) -> dict[str, Any]:
    """Type-check and validate each key of one [defaults] or [profiles.NAME] table."""
    out = {}
    for key, value in table.items():
        # Where a key is costs a scan of the file: only worked out for an error.
        if key not in PROFILE_KEYS:
            raise ConfigError(f"{_where(path, text, table_path, key)}unknown key '{key}'",
                              f"known keys: {', '.join(sorted(PROFILE_KEYS))}")
        try:
            out[key] = _VALIDATORS[key](value)
        except ConfigError as e:
            raise ConfigError(f"{_where(path, text, table_path, key)}{e.what}", e.fix) from None
    return out


def _where(path: Path, text: str, table_path: tuple[str, ...], key: str) -> str:
    line = _locate(text, table_path, key)
    return f"{path}:{line}: " if line else f"{path}: "


def _locate(text: str, table_path: tuple[str, ...], key: str) -> int | None:
    """Best-effort line number of `key` inside the table `table_path` (only used for errors)."""
    current: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            header = line.split("#", 1)[0].strip()
            try:
                parsed = tomllib.loads(f"{header}\n")
            except tomllib.TOMLDecodeError:
                continue
            current = ()
            node: Any = parsed
            while isinstance(node, dict) and len(node) == 1:
                (part, node), = node.items()
                current += (part,)
            if current[:len(table_path) + 1] == (*table_path, key):
                return number
            continue
        if current == table_path and "=" in line:
            name = line.split("=", 1)[0].strip().strip("\"'")
            if name == key:
                return number
    return None


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


def _boolean(key: str):
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


def _account_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError("'account_id' must be a string (a number loses leading zeros)",
                          'quote it: account_id = "012345678901"')
    value = _string(value, "account_id")
    if not ACCOUNT_ID_RE.fullmatch(value):
        raise ConfigError(f"account_id {value!r} is not a 12-digit AWS account ID",
                          'write it as account_id = "123456789012"')
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


def _mfa_process(value: Any) -> str:
    import shlex

    value = _string(value, "mfa_process")
    try:
        words = shlex.split(value)
    except ValueError as e:
        raise ConfigError(f"mfa_process cannot be split into words: {e}",
                          "check its quotes") from None
    if not words:
        raise ConfigError("mfa_process is empty", "name a command that prints the code")
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


def _color(value: Any) -> str:
    from .console import color_hex

    color_hex(_string(value, "color"))
    return value


_VALIDATORS = {
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
    "mfa_session": _boolean("mfa_session"),
    "mfa_session_duration": _bounded("mfa_session_duration", STS_MIN_DURATION, 129600),
    "output": _output,
    "display_name": _display_name,
    "color": _color,
    "mfa_prompt": _choice("mfa_prompt", MFA_PROMPTS),
    "keyring_backend": _choice("keyring_backend", KEYRING_BACKENDS),
}


# ---------------------------------------------------------------------------------------------
# Resolution: [defaults] + [profiles.NAME] -> Profile


def build_profile(name: str, defaults: dict[str, Any], own: dict[str, Any], path: Path) -> Profile:
    merged = dict(defaults)
    # A profile that names its role one way must not inherit the other way from [defaults].
    if "role_arn" in own:
        merged.pop("account_id", None)
        merged.pop("role_name", None)
    elif "account_id" in own or "role_name" in own:
        merged.pop("role_arn", None)
    merged.update(own)

    def fail(what: str, fix: str) -> ConfigError:
        return ConfigError(f"{path}: profile '{name}': {what}", fix)

    if "role_arn" in own and ("account_id" in own or "role_name" in own):
        raise fail("sets both role_arn and account_id/role_name", "keep one of the two")
    role_arn = merged.pop("role_arn", None)
    account_id = merged.pop("account_id", None)
    role_name = merged.pop("role_name", None)
    if role_arn is None:
        if not (account_id and role_name):
            raise fail("has no role", "set role_arn, or account_id and role_name")
        partition = partition_of_region(merged.get("region"))
        path_part, _, bare = role_name.rpartition("/")
        prefix = f"/{path_part}/" if path_part else "/"
        role_arn = f"arn:{partition}:iam::{account_id}:role{prefix}{bare}"

    merged.setdefault("source_profile", "default")
    if merged["source_profile"] == name:
        raise fail("is its own source_profile",
                   "set source_profile to a profile with its own credentials")
    merged.setdefault("role_session_name", default_session_name())
    profile = Profile(name=name, role_arn=role_arn, **merged)

    floor = profile.refresh_margin + MIN_SERVABLE
    if profile.duration_seconds < floor:
        raise fail(f"duration_seconds {profile.duration_seconds} leaves under "
                   f"{MIN_SERVABLE // 60} minutes before the {profile.refresh_margin}s refresh "
                   "margin", f"use duration_seconds >= {floor}")
    return profile


class Source:
    """A stored source: an IAM user whose long-term keys are in the OS keyring, by name."""

    def __init__(self, name: str, defaults: dict[str, Any], own: dict[str, Any]):
        # From [defaults] as profiles get them: the same device then yields one MFA session for
        # the user itself and every role behind it.
        inherited = {k: defaults[k] for k in ("mfa_serial", "mfa_process", "mfa_prompt",
                                              "keyring_backend", "region",
                                              "mfa_session_duration") if k in defaults}
        values = {**inherited, **own}
        self.name = name
        self.mfa_serial: str | None = values.get("mfa_serial")
        self.mfa_process: str | None = values.get("mfa_process")
        self.mfa_prompt: str = values.get("mfa_prompt", "auto")
        self.region: str | None = values.get("region")
        self.aws_profile: bool = values.get("aws_profile", False)
        self.mfa_session_duration: int = values.get("mfa_session_duration",
                                                    DEFAULT_MFA_SESSION_DURATION)
        self.keyring_backend: str = values.get("keyring_backend", "auto")


def source(config: Config, name: str) -> Source:
    if name not in config.sources:
        known = ", ".join(sorted(config.sources)) or "none"
        raise ConfigError(f"there is no stored source '{name}' in {config.path} (stored "
                          f"sources: {known})", f"add it with 'xaccount-credproc source add "
                          f"{name}' or 'source import {name}'")
    return Source(name, config.defaults, config.sources[name])
