"""Loading the TOML config: the file and its includes, each table type-checked and validated
(rules.py) into a Config (model.py). Errors name the file, the line and the key.
"""

import os
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .lines import where as _where
from .model import Config
from .rules import (
    LOGIN_VALIDATORS,
    MAX_CONFIG_SIZE,
    MAX_INCLUDE_DEPTH,
    SOURCE_VALIDATORS,
    SSO_SESSION_VALIDATORS,
    TOP_LEVEL_KEYS,
    VALIDATORS,
    VAULT_VALIDATORS,
    check_profile_name,
)


def load(path, lenient: bool = False) -> Config:
    """Load `path` and its includes. Included files come first; the including file overrides.

    Strict (the default: every edit is checked this way), any invalid profile raises. `lenient`
    keeps each broken profile's error in `Config.broken` instead, so one broken profile fails
    alone: the others resolve, and `init` and `doctor` can list every broken one at once. What
    every profile depends on (the file itself, includes, [defaults]) still raises."""
    path = Path(path)
    config = Config(path=path)
    _load_into(config, path, stack=(), lenient=lenient)
    for name in config.sources:
        if name in config.profiles:
            path_, text_ = config.origins[("sources", name)]
            raise ConfigError(f"{_where(path_, text_, ('sources',), name)}'{name}' is both a "
                              "stored source and a profile", "rename one of them")
    for name in config.logins:
        other = ("a profile" if name in config.profiles else
                 "a stored source" if name in config.sources else None)
        if other:
            path_, text_ = config.origins[("logins", name)]
            raise ConfigError(f"{_where(path_, text_, ('logins',), name)}'{name}' is both a "
                              f"login and {other}", "rename one of them")
    for name in list(config.profiles):
        # Validate every profile (and chain) now, so a typo anywhere is reported by any command.
        try:
            config.resolve(name)
        except ConfigError as e:
            if not lenient:
                raise
            config.broken.setdefault(name, e)
    return config


def _load_into(config: Config, path: Path, stack: tuple[Path, ...], lenient: bool) -> None:
    path = path.expanduser()
    real = Path(os.path.realpath(path))
    if real in stack:
        chain = " -> ".join(str(p) for p in (*stack, real))
        raise ConfigError(f"include cycle: {chain}", "remove one of these includes")
    # `stack` holds the including files: the config itself is level 0, so 16 levels of
    # includes load and a 17th is refused (README: "nested more than 16 deep").
    if len(stack) > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"{stack[-1]}: includes nest more than {MAX_INCLUDE_DEPTH} deep",
                          "include the files from one place instead of in a chain")
    data, text = _read_toml(path, stack)
    config.files.append(real)

    unknown = set(data) - TOP_LEVEL_KEYS
    for key in sorted(unknown):
        raise ConfigError(f"{_where(path, text, (), key)}unknown key '{key}'",
                          "top-level keys are include, [defaults], [profiles.NAME], "
                          "[sources.NAME], [logins.NAME], [sso-sessions.NAME] and [vault]")

    include = data.get("include", [])
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise ConfigError(f"{_where(path, text, (), 'include')}'include' must be a list of "
                          "file names", 'write include = ["team.toml"]')
    for entry in include:
        _load_into(config, (path.parent / entry).expanduser(), (*stack, real), lenient)

    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{_where(path, text, (), 'defaults')}'defaults' must be a table",
                          "write it as [defaults]")
    config.defaults.update(_check_table(defaults, path, text, ("defaults",)))
    for key in defaults:
        config.origins[("defaults", key)] = (path, text)

    for name, table, error in _named_tables(data, "profiles", "profile", path, text):
        try:
            if error is not None:
                raise error
            checked = _check_table(table, path, text, ("profiles", name))
        except ConfigError as e:
            if not lenient:
                raise
            config.profiles.setdefault(name, {})
            config.broken.setdefault(name, e)  # the first error of each profile
            continue
        merged = config.profiles.setdefault(name, {})
        merged.update(checked)
        config.origins[("profiles", name)] = (path, text)
        for key in table:
            config.origins[("profiles", name, key)] = (path, text)

    vault = data.get("vault", {})
    if not isinstance(vault, dict):
        raise ConfigError(f"{_where(path, text, (), 'vault')}'vault' must be a table",
                          "write it as [vault]")
    config.vault.update(_check_table(vault, path, text, ("vault",), VAULT_VALIDATORS,
                                     "in [vault]"))

    for name, table, error in _named_tables(data, "sso-sessions", "sso-session", path, text):
        if error is not None:
            raise error
        checked = _check_table(table, path, text, ("sso-sessions", name),
                               SSO_SESSION_VALIDATORS, "in an sso-session")
        for key in ("sso_start_url", "sso_region"):
            if key not in checked:
                raise ConfigError(f"{_where(path, text, ('sso-sessions',), name)}sso-session "
                                  f"'{name}' has no {key}", f"set {key} in [sso-sessions.{name}]")
        config.sso_sessions[name] = checked

    for name, table, error in _named_tables(data, "sources", "source", path, text):
        if error is not None:
            raise error
        checked = _check_table(table, path, text, ("sources", name), SOURCE_VALIDATORS,
                               "in a source")
        config.sources.setdefault(name, {}).update(checked)
        config.origins[("sources", name)] = (path, text)

    for name, table, error in _named_tables(data, "logins", "login", path, text):
        if error is not None:
            raise error
        checked = _check_table(table, path, text, ("logins", name), LOGIN_VALIDATORS,
                               "in a login")
        config.logins.setdefault(name, {}).update(checked)
        config.origins[("logins", name)] = (path, text)


def _named_tables(data: dict, key: str, kind: str, path: Path, text: str):
    """(name, table, None) of each [KEY.NAME] table, or (name, table, the ConfigError) when its
    name or type is wrong."""
    tables = data.get(key, {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{_where(path, text, (), key)}'{key}' must hold tables",
                          f"write each {kind} as [{key}.NAME]")
    for name, table in tables.items():
        try:
            check_profile_name(name, "profile name" if kind == "profile" else f"{kind} name")
        except ConfigError as e:
            yield name, table, ConfigError(f"{_where(path, text, (key,), name)}{e.what}", e.fix)
            continue
        if not isinstance(table, dict):
            yield name, table, ConfigError(f"{_where(path, text, (key,), name)}{kind} '{name}' "
                                           "must be a table", f"write it as [{key}.{name}]")
            continue
        yield name, table, None


def read_text(path: Path) -> str:
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
        text = read_text(path)
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


def _check_table(table: dict[str, Any], path: Path, text: str, table_path: tuple[str, ...],
                 validators: dict[str, Any] = VALIDATORS, where: str = "") -> dict[str, Any]:
    """Type-check and validate each key of one table ([defaults], [profiles.NAME], ...) with
    the validators of its kind (rules.py, from the table of settings)."""
    out = {}
    for key, value in table.items():
        # Where a key is costs a scan of the file: only worked out for an error.
        if key not in validators:
            raise ConfigError(f"{_where(path, text, table_path, key)}unknown key '{key}'"
                              + (f" {where}" if where else ""),
                              f"known keys: {', '.join(sorted(validators))}")
        try:
            out[key] = validators[key](value)
        except ConfigError as e:
            raise ConfigError(f"{_where(path, text, table_path, key)}{e.what}", e.fix) from None
    return out
