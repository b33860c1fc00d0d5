"""Resolved profiles remembered beside the cache, so a cache hit never parses TOML.

Why keep them at all: importing the config module (tomllib, re, dataclasses, pathlib) and parsing
costs 35-45 ms, against 1.5 ms to read a snapshot, on a hit that takes about 32 ms in all
(measured here, Python 3.11, a 1-profile config; a 1000-profile config costs far more to parse).

What a snapshot is: the resolved profile (no secrets: ARNs, names, the ExternalId, the
mfa_process command line) plus the identity (path, size, mtime, ctime, inode) of every file it was
read from, the profile's name and the config's path. It is used only while all of that matches
exactly the profile and config asked for; any change falls back to a full load, which also
reports config errors.

Why it is safe to trust: a snapshot says which command `mfa_process` runs and which ExternalId
goes to STS, so it is read only from a cache directory that belongs to this user and that no one
else can write (files.trusted_dir), only from a regular file of ours that no one else can write,
opened without following a link. Its bytes carry a BLAKE2b tag checked before `marshal` sees
them, and every field is type-checked after: a truncated, mutated, swapped or foreign file is a
miss, re-parsed and rewritten. A cache directory that fails the checks is never read: one
warning, and the config is parsed.
"""

import marshal
import os
import time

from .. import files
from . import Profile, from_fields

FORMAT = 10
MAGIC = b"xcps7\n"
TAG_SIZE = 16
MAX_SIZE = 1 << 20
RACY_NS = 2_000_000_000
PROFILES_DIR = "profiles"
# getpass.getuser() reads these: the default role_session_name depends on them.
USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def _tag(body: bytes) -> bytes:
    from .._digest import blake2b

    return blake2b(MAGIC + body, digest_size=TAG_SIZE).digest()


def _file_identity(path: str) -> list:
    try:
        st = os.stat(path)
    except OSError:
        return [path, None]
    return [path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _snapshot_path(config_path, name: str) -> str:
    from .._digest import digest

    key = digest(f"{os.path.abspath(config_path)}\0{name}")
    return os.path.join(files.user_cache_dir(), PROFILES_DIR, f"{key}.snapshot")


def load_profile(config_path, name: str, warnings: list[str] | None = None,
                 source: bool = False) -> Profile:
    """The profile `name` of `config_path` (with `source`, what serves the stored source
    `name`'s IAM user), from its snapshot when that can be trusted and the files are unchanged;
    else from the config (and the snapshot is rewritten). Problems with the cache directory are
    appended to `warnings`."""
    snapshot = _snapshot_path(config_path, f"source:{name}" if source else name)
    refused = None
    try:
        profile = _read(snapshot, config_path, name)
    except files.UntrustedCacheDir as e:
        profile, refused = None, e
    if profile is not None:
        return profile

    from .loader import load

    loaded = load(config_path, lenient=True)  # another profile's mistake is not ours
    profile = loaded.source_as_profile(name) if source else loaded.resolve(name)
    try:
        # Also makes a directory of ours private again, so the next call may use it.
        _remember(snapshot, config_path, profile, [str(p) for p in loaded.files])
    except files.UntrustedCacheDir as e:
        refused = refused or e
    if refused is not None and warnings is not None:
        warnings.append(str(refused))
    return profile


def identities(config_path, name: str) -> list | None:
    """The identities of the config files profile `name`'s snapshot was made from, while it
    matches them (for credentials/hit.py's card); None when there is no such snapshot."""
    try:
        data = _data(_snapshot_path(config_path, name))
    except files.UntrustedCacheDir:
        return None
    if data is None or _profile_from(data, config_path, name) is None:
        return None
    return data["files"]


def _read(snapshot: str, config_path, name: str) -> Profile | None:
    """The snapshot's profile, None for any mismatch; UntrustedCacheDir if it is not ours."""
    data = _data(snapshot)
    return None if data is None else _profile_from(data, config_path, name)


def _data(snapshot: str):
    """The snapshot's data, tag checked; None for any mismatch; UntrustedCacheDir if it is not
    ours."""
    directory = os.path.dirname(snapshot)
    if not (files.trusted_dir(os.path.dirname(directory)) and files.trusted_dir(directory)):
        return None
    try:
        fd = os.open(snapshot, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None  # missing, or a symlink: a miss either way (it is rewritten)
    try:
        import stat

        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SIZE:
            return None
        files.check_trusted(st, directory, "a profile snapshot")
        with open(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_SIZE + 1)
    finally:
        os.close(fd)
    if not raw.startswith(MAGIC) or len(raw) > MAX_SIZE:
        return None
    tag, body = raw[len(MAGIC):len(MAGIC) + TAG_SIZE], raw[len(MAGIC) + TAG_SIZE:]
    if tag != _tag(body):
        return None
    try:
        return marshal.loads(body)  # noqa: S302 - tagged, from a file only this user can write
    except (ValueError, EOFError, TypeError):
        return None


def _profile_from(data, config_path, name: str) -> Profile | None:
    if type(data) is not dict or data.get("format") != FORMAT:
        return None
    if (data.get("name") != name or data.get("config") != os.path.abspath(config_path)
            or data.get("env") != [os.environ.get(v) for v in USER_VARIABLES]):
        return None
    listed, fields = data.get("files"), data.get("profile")
    if type(listed) is not list or not listed or type(fields) is not dict:
        return None
    for entry in listed:
        if type(entry) is not list or not entry or type(entry[0]) is not str:
            return None
        if _file_identity(entry[0]) != entry:
            return None
    if type(fields) is not dict or fields.get("name") != name:
        return None
    return from_fields(fields)


def _remember(snapshot: str, config_path, profile: Profile, sources: list[str]) -> None:
    identities = [_file_identity(f) for f in sources]
    # A file changed within the last seconds may change again within the same timestamp: like
    # git's "racy" index entries, don't trust its identity yet.
    recent = time.time_ns() - RACY_NS
    if any(entry[1] is None or entry[2] > recent or entry[3] > recent for entry in identities):
        return
    data = {"format": FORMAT, "name": profile.name, "config": os.path.abspath(config_path),
            "env": [os.environ.get(v) for v in USER_VARIABLES],
            "files": identities, "profile": profile.as_dict()}
    body = marshal.dumps(data)
    files.private_cache_dir(PROFILES_DIR)  # raises UntrustedCacheDir
    import contextlib

    with contextlib.suppress(OSError):  # only an optimisation: the next call parses again
        files.replace_atomically(snapshot, MAGIC + _tag(body) + body)
