"""Resolved profiles remembered beside the cache, so a cache hit never parses TOML.

Parsing and validating a config grows with its size (1000 profiles take tens of milliseconds) and
`tomllib` alone costs more to import than the rest of the hot path. After a full load we keep each
resolved profile in a small JSON file (no secrets: ARNs, names, the ExternalId) together with the
identity (path, size, mtime, ctime, inode) of every file it was read from. While those are unchanged
the snapshot is used; any change falls back to a full load, which also reports config errors.
Snapshots are `marshal` data (a builtin, no JSON parser to import); an unreadable one is ignored.
"""

import marshal
import os
import time

from . import paths
from .profile import FIELDS, Profile

FORMAT = 2
RACY_NS = 2_000_000_000
PROFILES_DIR = "profiles"
# getpass.getuser() reads these: the default role_session_name depends on them.
USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def _file_identity(path: str) -> list:
    try:
        st = os.stat(path)
    except OSError:
        return [path, None]
    return [path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _snapshot_path(config_path, name: str) -> str:
    from ._digest import digest

    key = digest(f"{os.path.abspath(config_path)}\0{name}")
    return os.path.join(paths.user_cache_dir(), PROFILES_DIR, f"{key}.snapshot")


def load_profile(config_path, name: str) -> Profile:
    """The profile `name` of `config_path`, from its snapshot when the files are unchanged."""
    snapshot = _snapshot_path(config_path, name)
    try:
        with open(snapshot, "rb") as f:
            # Our own file in a 0700 directory; whoever can write there owns the account anyway.
            data = marshal.load(f)  # noqa: S302
        if (data["format"] == FORMAT
                and data["env"] == [os.environ.get(v) for v in USER_VARIABLES]
                and data["config"] == os.path.abspath(config_path)
                and all(_file_identity(entry[0]) == list(entry) for entry in data["files"])):
            return Profile(**{k: data["profile"][k] for k in FIELDS})
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError):
        pass

    from . import config

    loaded = config.load(config_path)
    profile = loaded.resolve(name)
    _remember(snapshot, config_path, profile, [str(p) for p in loaded.files])
    return profile


def _remember(snapshot: str, config_path, profile: Profile, files: list[str]) -> None:
    identities = [_file_identity(f) for f in files]
    # A file changed within the last seconds may change again within the same timestamp: like
    # git's "racy" index entries, don't trust its identity yet.
    recent = time.time_ns() - RACY_NS
    if any(entry[1] is None or entry[2] > recent or entry[3] > recent for entry in identities):
        return
    data = {"format": FORMAT, "config": os.path.abspath(config_path),
            "env": [os.environ.get(v) for v in USER_VARIABLES],
            "files": identities, "profile": profile.as_dict()}
    try:
        paths.private_cache_dir(PROFILES_DIR)
        temporary = f"{snapshot}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as f:
            marshal.dump(data, f)
        os.replace(temporary, snapshot)
    except OSError:
        pass  # only an optimisation: the next call loads the config again
