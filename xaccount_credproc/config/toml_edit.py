"""`add` and `remove`: edit the TOML config with tomlkit, keeping its comments and layout.

An edit is validated exactly as loading validates (the edited text is loaded from a temporary file
beside the config, so includes resolve) before it replaces the config atomically, under a lock.
"""

import contextlib
import os
from pathlib import Path

from .. import files
from ..errors import ConfigError
from . import loader, rules

TEMPLATE = """\
# xaccount-credproc config: profiles for `credential_process`.
# Every key is described in the README and in sample-config/config.toml.
# [defaults] applies to every profile; a [profiles.NAME] table may override any key.

[defaults]
# source_profile = "default"                           # profile whose credentials call STS
# mfa_serial = "arn:aws:iam::123456789012:mfa/you"     # your MFA device
# region = "us-east-1"
"""


def _read(path: str) -> str:
    try:
        return loader.read_text(Path(path))
    except FileNotFoundError:
        return TEMPLATE
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}",
                          "check its permissions and that it is UTF-8") from None


def _validated_write(path: str, text: str) -> None:
    """Load `text` as if it were `path`; write it only if that succeeds."""
    directory = os.path.dirname(os.path.abspath(path))
    candidate = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.check")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        try:
            with open(candidate, "w", encoding="utf-8") as f:
                f.write(text)
            try:
                loader.load(candidate)
            except ConfigError as e:
                raise ConfigError(e.what.replace(candidate, path), e.fix) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(candidate)
        files.replace_text(path, text, backup=os.path.exists(path))
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror}",
                          "check the permissions of the file and its directory") from None


def add_profile(path: str, name: str, values: dict) -> bool:
    """Add [profiles.NAME] with `values`; True if the config file was created."""
    created = not os.path.exists(path)
    add_profiles(path, [(name, values)])
    return created


def add_profiles(path: str, entries: list[tuple[str, dict]]) -> None:
    """Add [profiles.NAME] tables in one validated edit; an existing name is refused."""
    import tomlkit

    from .stanzas import locked

    for name, _ in entries:
        rules.check_profile_name(name)
    with locked(path, "the TOML config"):
        existing = loader.load(path).profiles if os.path.exists(path) else {}
        document = tomlkit.parse(_read(path))
        profiles = _super_table(document, "profiles")
        for name, values in entries:
            if name in existing:
                raise ConfigError(f"profile '{name}' already exists in {path}",
                                  f"remove it first ('xaccount-credproc remove {name}') or edit "
                                  "the file")
            table = tomlkit.table()
            for key, value in values.items():
                if value is not None:
                    table[key] = value
            profiles[name] = table
        _validated_write(path, tomlkit.dumps(document))


def remove_profile(path: str, name: str) -> None:
    import tomlkit

    from .stanzas import locked

    with locked(path, "the TOML config"):
        loaded = loader.load(path)
        if name not in loaded.profiles:
            from .rules import unknown_profile

            raise ConfigError(unknown_profile(name, path, loaded.names()).what, "check the name")
        document = tomlkit.parse(_read(path))
        if not _delete_named(document, "profiles", name):
            raise ConfigError(f"profile '{name}' is defined in a file that {path} includes",
                              "remove it from that file (or override it here)")
        _validated_write(path, tomlkit.dumps(document))


def set_source(path: str, name: str, values: dict) -> None:
    """Add [sources.NAME] (or set keys in it), in one validated edit."""
    import tomlkit

    from .stanzas import locked

    rules.check_profile_name(name, "source name")
    with locked(path, "the TOML config"):
        document = tomlkit.parse(_read(path))
        sources = _super_table(document, "sources")
        table = sources.get(name)
        if table is None:
            table = tomlkit.table()
            sources[name] = table
        for key, value in values.items():
            if value is not None:
                table[key] = value
        _validated_write(path, tomlkit.dumps(document))


def remove_source(path: str, name: str) -> None:
    import tomlkit

    from .stanzas import locked

    with locked(path, "the TOML config"):
        document = tomlkit.parse(_read(path))
        if not _delete_named(document, "sources", name):
            raise ConfigError(f"source '{name}' is not declared in {path}",
                              "remove it from the file that declares it")
        _validated_write(path, tomlkit.dumps(document))


def _super_table(document, key: str):
    """document[key], a table holding [key.NAME] tables, created when missing."""
    import tomlkit

    if document.get(key) is None:
        document[key] = tomlkit.table(is_super_table=True)
    return document[key]


def _delete_named(document, key: str, name: str) -> bool:
    """Remove [key.NAME] (and an emptied [key]); False if this file does not have it."""
    tables = document.get(key)
    if tables is None or name not in tables:
        return False
    del tables[name]
    if not tables:
        del document[key]
    return True


def _toml_key(name: str) -> str:
    import json
    import re

    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _toml_value(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a JSON string is a TOML basic string


def sync_profiles(path: str, added: list[tuple[str, dict]], removed: list[str]) -> None:
    """`sso sync`'s edit, validated and written once: [profiles.NAME] tables appended (as text:
    thousands of tables through tomlkit would take minutes) and tables removed."""
    import tomlkit

    from .stanzas import locked

    for name, _ in added:
        rules.check_profile_name(name)
    with locked(path, "the TOML config"):
        document = tomlkit.parse(_read(path))
        for name in removed:
            _delete_named(document, "profiles", name)
        text = tomlkit.dumps(document)
        if added and not text.endswith("\n"):
            text += "\n"
        for name, values in added:
            body = "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())
            text += f"\n[profiles.{_toml_key(name)}]\n{body}"
        _validated_write(path, text)
