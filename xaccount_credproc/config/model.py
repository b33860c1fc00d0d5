"""The loaded config: the merged [defaults], [profiles.*] and [sources.*] tables, and how one
profile is resolved from them ([defaults] inheritance, role chains and their rules, stored
sources).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import (
    CHAINED_MAX_DURATION,
    MAX_CHAIN,
    Console,
    IdentityCenter,
    LoginSettings,
    Profile,
    StoredSourceSettings,
    VaultSettings,
)
from .lines import where as _where
from .rules import (
    LOGIN_INHERITS,
    MIN_SERVABLE,
    NOT_FOR_SSO_ROLES,
    SOURCE_INHERITS,
    SSO_ROLE_KEYS,
    USER_PLACEHOLDER,
    default_session_name,
    login_name,
    partition_of_region,
    unknown_profile,
)


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
    # Profiles that failed validation, with their first error (loader.load(lenient=True)).
    broken: dict[str, ConfigError] = field(default_factory=dict)
    vault: dict[str, Any] = field(default_factory=dict)  # the [vault] table
    sso_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # [sso-sessions.*]
    logins: dict[str, dict[str, Any]] = field(default_factory=dict)  # [logins.*]
    _resolved: dict[str, Profile] = field(default_factory=dict, repr=False)
    _resolving: list[str] = field(default_factory=list, repr=False)

    def names(self) -> list[str]:
        """The profiles that resolve (the broken ones are in `broken`)."""
        return sorted(n for n in self.profiles if n not in self.broken)

    def resolve(self, name: str) -> Profile:
        if name in self.broken:
            raise self.broken[name]
        if name not in self.profiles:
            raise unknown_profile(name, self.path, self.names())
        if name not in self._resolved:  # load() resolves every profile; callers again
            if name in self._resolving:  # a source_profile cycle
                cycle = self._resolving[self._resolving.index(name):] + [name]
                raise ConfigError(
                    f"{self.where(cycle[0], 'source_profile')}source_profile makes a cycle: "
                    f"{' -> '.join(cycle)}", "end the chain at a profile whose source_profile is "
                    "an AWS profile with its own credentials (keys, SSO, ...)")
            profile = build_profile(name, self.defaults, self.profiles[name],
                                    _Location(self, name), self.sso_sessions)
            if profile.source_profile in self.sources:
                profile.stored_source = source(self, profile.source_profile).keyring_backend
                profile.vault = self.vault_settings()
            if profile.source_profile in self.logins:
                profile.login = login(self, profile.source_profile)
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
        assert profile.via is not None  # a chained profile
        if profile.duration_seconds > CHAINED_MAX_DURATION:
            raise ConfigError(
                f"{self.where(name, 'duration_seconds')}profile '{name}': duration_seconds "
                f"{profile.duration_seconds} is over {CHAINED_MAX_DURATION}, AWS's limit for a "
                f"role assumed with role credentials (its source '{profile.via.name}' is a role)",
                f"set duration_seconds = {CHAINED_MAX_DURATION} or less for '{name}'")
        upstream = next((hop for hop in profile.chain[-2::-1] if hop.source_identity), None)
        if upstream and profile.source_identity not in (None, upstream.source_identity):
            raise ConfigError(
                f"{self.where(name, 'source_identity')}profile '{name}': source_identity "
                f"'{profile.source_identity}' differs from '{upstream.source_identity}' of "
                f"'{upstream.name}' earlier in its chain, and AWS refuses to change a session's "
                "source identity", f"use source_identity = \"{upstream.source_identity}\" (or "
                f"none: it is carried along) for '{name}'")
        carried = {key.lower(): value for key, value in profile.carried_tags().items()}
        for key, value in profile.tags.items():
            if carried.get(key.lower(), value) != value:  # the same value is simply not sent
                raise ConfigError(
                    f"{self.where(name, 'tags')}profile '{name}': tag {key!r} = {value!r}, but "
                    f"a hop earlier in its chain passes {key!r} = {carried[key.lower()]!r} on as "
                    "a transitive tag, and AWS refuses to change it along the chain",
                    f"remove {key!r} from the tags of '{name}' (it is carried along)")
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
                       # The user's session is cached like role credentials, never in the vault.
                       keyring_backend=("auto" if stored.keyring_backend == "vault"
                                        else stored.keyring_backend),
                       stored_source=stored.keyring_backend, vault=self.vault_settings())

    def vault_settings(self) -> VaultSettings:
        """What reading a stored source from the vault needs: the [vault] table's settings,
        and the sources that may move into the vault from the kernel keyring on its unlock."""
        return VaultSettings(**self.vault, auto_sources=sorted(
            n for n in self.sources if source(self, n).keyring_backend == "auto"))

    def table_location(self, name: str) -> str:
        """"FILE:LINE" of the [profiles.NAME] table (the config's path if it cannot be told)."""
        if ("profiles", name) in self.origins:
            path, text = self.origins[("profiles", name)]
            return _where(path, text, ("profiles",), name).rstrip(": ")
        return str(self.path)

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



class _Location:
    """"FILE:LINE" of a profile's table, worked out only when an error names it: finding it
    scans the file, and doing that for each of thousands of profiles (`sso sync`) made
    loading quadratic."""

    def __init__(self, config: Config, name: str):
        self.config, self.name = config, name

    def __str__(self) -> str:
        return self.config.table_location(self.name)


# ---------------------------------------------------------------------------------------------
# Resolution: [defaults] + [profiles.NAME] -> Profile


def build_profile(name: str, defaults: dict[str, Any], own: dict[str, Any],
                  path: "Path | str | _Location", sso_sessions: dict | None = None) -> Profile:
    if any(key in own for key in SSO_ROLE_KEYS):
        return _sso_role_profile(name, defaults, own, path, sso_sessions or {})
    merged = dict(defaults)
    # A profile that names its role one way must not inherit the other way from [defaults].
    if "role_arn" in own:
        merged.pop("account_id", None)
        merged.pop("role_name", None)
    elif "account_id" in own or "role_name" in own:
        merged.pop("role_arn", None)
    merged.update(own)
    # Session tags add up: [defaults]' tags, then the profile's own (the same name: the profile's).
    if "tags" in defaults and "tags" in own:
        merged["tags"] = {**defaults["tags"], **own["tags"]}

    def fail(what: str, fix: str) -> ConfigError:
        return ConfigError(f"{path}: profile '{name}': {what}", fix)

    if merged.get("source_identity") == USER_PLACEHOLDER:
        merged["source_identity"] = login_name()
        if not merged["source_identity"]:
            raise fail('source_identity = "{user}", but the login name cannot be made a valid '
                       "SourceIdentity", "set source_identity to a name of 2-64 letters, "
                       "digits and +=,.@_-")
    tag_names = {key.lower() for key in merged.get("tags", {})}
    for key in merged.get("transitive_tags", []):
        if key.lower() not in tag_names:
            raise fail(f"transitive_tags names {key!r}, which is not one of its tags",
                       f"add {key!r} to tags, or remove it from transitive_tags")

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

    merged.pop("sso_session", None)  # a [defaults] session applies to Identity Center roles
    merged.pop("sso_synced", None)
    if str(merged.get("browser", "")).startswith(("/", "~/")) and "browser_family" not in merged:
        raise fail(f"browser {merged['browser']} is a path, so its family must be given",
                   'set browser_family = "chromium" or "firefox"')
    merged.setdefault("source_profile", "default")
    if merged["source_profile"] == name:
        raise fail("is its own source_profile",
                   "set source_profile to a profile with its own credentials")
    merged.setdefault("role_session_name", default_session_name())
    if merged.get("keyring_backend") == "vault":
        raise fail('keyring_backend = "vault" is for stored sources\' long-term keys; role '
                   "credentials are cached in the Secret Service or the kernel keyring",
                   'set keyring_backend = "vault" in [sources.NAME], not in a profile or '
                   "[defaults]")
    profile = Profile(name=name, role_arn=role_arn, console=_console(merged), **merged)

    floor = profile.refresh_margin + MIN_SERVABLE
    if profile.duration_seconds < floor:
        raise fail(f"duration_seconds {profile.duration_seconds} leaves under "
                   f"{MIN_SERVABLE // 60} minutes before the {profile.refresh_margin}s refresh "
                   "margin", f"use duration_seconds >= {floor}")
    return profile


def _sso_role_profile(name: str, defaults: dict[str, Any], own: dict[str, Any],
                      path: "Path | str | _Location", sessions: dict) -> Profile:
    """An IAM Identity Center role as a profile: GetRoleCredentials with the session's token.
    The AssumeRole settings do not apply (from [defaults] they are left out; in its own table
    they are an error)."""
    def fail(what: str, fix: str) -> ConfigError:
        return ConfigError(f"{path}: profile '{name}': {what}", fix)

    wrong = [key for key in NOT_FOR_SSO_ROLES if key in own]
    if wrong:
        raise fail(f"is an IAM Identity Center role (sso_account_id, sso_role_name), so "
                   f"{', '.join(wrong)} do{'es' if len(wrong) == 1 else ''} not apply",
                   "remove " + ", ".join(wrong) + ", or make it a role assumed with "
                   "source_profile and role_arn")
    merged = {k: v for k, v in {**defaults, **own}.items()
              if k not in NOT_FOR_SSO_ROLES and k != "sso_synced"}
    missing = [key for key in ("sso_session", *SSO_ROLE_KEYS) if key not in merged]
    if missing:
        raise fail(f"has {', '.join(k for k in SSO_ROLE_KEYS if k in own)} but no "
                   f"{', '.join(missing)}", f"set {', '.join(missing)}")
    session = merged.pop("sso_session")
    account, role = merged.pop("sso_account_id"), merged.pop("sso_role_name")
    table = sessions.get(session)
    sso = IdentityCenter(session=session, account_id=account, role_name=role,
                         start_url=table["sso_start_url"] if table else None,
                         region=table["sso_region"] if table else None,
                         scopes=table.get("sso_registration_scopes", []) if table else [])
    if merged.get("keyring_backend") == "vault":
        raise fail('keyring_backend = "vault" is for stored sources\' long-term keys',
                   'set keyring_backend = "vault" in [sources.NAME], not in a profile')
    partition = partition_of_region(merged.get("region") or sso.region)
    return Profile(name=name, role_arn=f"arn:{partition}:iam::{account}:role/{role}",
                   source_profile=f"sso-session:{session}", role_session_name=role, sso=sso,
                   console=_console(merged), **merged)


def _console(merged: dict[str, Any]) -> Console:
    """The console settings among a profile's merged keys (taken out of them)."""
    return Console(**{key: merged.pop(key) for key in Console.SETTINGS if key in merged})


def source(config: Config, name: str) -> StoredSourceSettings:
    if name not in config.sources:
        known = ", ".join(sorted(config.sources)) or "none"
        raise ConfigError(f"there is no stored source '{name}' in {config.path} (stored "
                          f"sources: {known})", f"add it with 'xaccount-credproc source add "
                          f"{name}' or 'source import {name}'")
    return stored_source(name, config.defaults, config.sources[name])


def login(config: Config, name: str) -> LoginSettings:
    """A login's settings ([logins.NAME]), with what it takes from [defaults]."""
    inherited = {k: config.defaults[k] for k in LOGIN_INHERITS if k in config.defaults}
    values = {k: v for k, v in {**inherited, **config.logins[name]}.items() if v is not None}
    return LoginSettings(name=name, **values)


def stored_source(name: str, defaults: dict[str, Any], own: dict[str, Any]) -> StoredSourceSettings:
    """A stored source's settings: its own table, and what it takes from [defaults] as profiles
    do (the same device then yields one MFA session for the user itself and every role behind
    it)."""
    inherited = {k: defaults[k] for k in SOURCE_INHERITS if k in defaults}
    values = {k: v for k, v in {**inherited, **own}.items() if v is not None}
    return StoredSourceSettings(name=name, **values)
