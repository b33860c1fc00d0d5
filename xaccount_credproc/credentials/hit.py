"""The cache hit, served before anything else is imported (Linux): what `credential-process`,
`eks-token` and `xcp prompt` do on nearly every run, at little more than the interpreter's
own start.

Why: `os` alone costs about 2 ms to import (`-S` skips `site`, which would have imported it),
the settings table and the resolver about 3 ms more, against a hit whose own work is two
system calls. measured by benchmarks/eks_token.py: the full hit path costs 1.7-1.9 times
`python -S -c pass`, this one about 1.2-1.3.

How: the full path, after it served a profile, leaves a *card* beside the profile's snapshot:
what a hit needs and nothing it has to work out (the cache entry's key, the refresh margin,
the account, the region, the store), the identity of every config file the profile came from,
and the environment the key was made in. This module reads the card with `posix` and `marshal`
only, checks it as the snapshot is checked (a cache directory and a regular file of this
user's alone, opened without following a link, a BLAKE2b tag, every config file unchanged, the
same environment), reads the entry from the kernel keyring (two system calls, as AutoStore
would where no Secret Service is on the session bus), and serves it only when it has more than
the margin left. Anything else, and anything unusual (`--debug`, a loop's marker, another
store, a missing or stale card), returns None: the full path runs, and says whatever there is
to say. Nothing here raises, prints an error, takes a lock or calls AWS.
"""

import marshal
import sys

try:
    import posix
except ImportError:  # pragma: no cover - not a POSIX system: the full path serves
    posix = None  # type: ignore[assignment]

MAGIC = b"xcph1\n"
TAG_SIZE = 16
MAX_SIZE = 1 << 16
SUFFIX = ".hit"
APP = "xaccount-credproc"
# What the key a card names depends on, beyond the config files: the default session name
# (getpass reads these) and the STS endpoint (cache.ENDPOINT_VARIABLES).
KEY_ENV = ("LOGNAME", "USER", "LNAME", "USERNAME", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL")
# What sends a hit to the full path: a debug run, a loop's marker.
NOT_HERE_ENV = ("XACCOUNT_CREDPROC_DEBUG", "XACCOUNT_CREDPROC_ACTIVE")
S_IFMT, S_IFREG, S_IFDIR = 0o170000, 0o100000, 0o040000


from .. import environ as env  # noqa: E402 - the environment, without `os`


def _absolute(value: str | None) -> str | None:
    """An absolute path from a setting (~/ expanded), None for anything else."""
    if value and value.startswith("~/"):
        home = env("HOME")
        value = home + value[1:] if home and home.startswith("/") else None
    return value if value and value.startswith("/") else None


def cache_dir() -> str | None:
    """files.user_cache_dir on Linux, or None where it would not be one of these."""
    explicit = env("XACCOUNT_CREDPROC_CACHE_DIR")
    if explicit:
        return _absolute(explicit)
    base = env("XDG_CACHE_HOME") or (env("HOME") or "") + "/.cache"
    return f"{base}/{APP}" if base.startswith("/") else None


def config_file(explicit: str | None) -> str | None:
    """config.config_path on Linux (absolute), or None."""
    if explicit is not None:
        return explicit if explicit.startswith("/") else None
    from_env = env("XACCOUNT_CREDPROC_CONFIG")
    if from_env:
        return _absolute(from_env)
    base = env("XDG_CONFIG_HOME") or (env("HOME") or "") + "/.config"
    return f"{base}/{APP}/config.toml" if base.startswith("/") else None


def card_path(config: str, name: str) -> str | None:
    from .._digest import digest

    directory = cache_dir()
    key = digest(config + "\0" + name)
    return None if directory is None else f"{directory}/profiles/{key}{SUFFIX}"


def _ours(st, directory: bool) -> bool:
    """A directory or regular file of this user's that no one else may write."""
    kind = S_IFDIR if directory else S_IFREG
    return (st.st_mode & S_IFMT) == kind and st.st_uid == posix.geteuid() \
        and not st.st_mode & 0o022


def _tag(body: bytes) -> bytes:
    from .._digest import blake2b

    return blake2b(MAGIC + body, digest_size=TAG_SIZE).digest()


def _identity(path: str) -> list:
    """The same identity of a file as config/snapshot.py records."""
    try:
        st = posix.stat(path)
    except OSError:
        return [path, None]
    return [path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def read_card(config: str, name: str) -> dict | None:
    path = card_path(config, name)
    if path is None:
        return None
    try:
        profiles = path.rpartition("/")[0]
        if not (_ours(posix.stat(profiles.rpartition("/")[0]), True)
                and _ours(posix.stat(profiles), True)):
            return None
        fd = posix.open(path, posix.O_RDONLY | posix.O_NOFOLLOW | posix.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not _ours(posix.fstat(fd), False):
            return None
        raw = posix.read(fd, MAX_SIZE + 1)
    except OSError:
        return None
    finally:
        posix.close(fd)
    if not raw.startswith(MAGIC) or len(raw) > MAX_SIZE:
        return None
    tag, body = raw[len(MAGIC):len(MAGIC) + TAG_SIZE], raw[len(MAGIC) + TAG_SIZE:]
    if tag != _tag(body):
        return None
    try:
        card = marshal.loads(body)  # noqa: S302 - tagged, from a file only this user can write
    except (ValueError, EOFError, TypeError):
        return None
    if type(card) is not dict or card.get("config") != config or card.get("name") != name \
            or card.get("env") != [env(v) for v in KEY_ENV]:
        return None
    listed = card.get("files")
    if type(listed) is not list or not listed:
        return None
    for entry in listed:
        if type(entry) is not list or not entry or type(entry[0]) is not str \
                or _identity(entry[0]) != entry:
            return None
    return card


def _reader(backend):
    """How a store of `backend` reads on a hit, as backends.AutoStore and the stores do
    (their fast reads: the Secret Service's own D-Bus read, the kernel keyring's system
    calls), or None where only the full path can tell: `read(names)` gives every value or
    None."""
    from .. import backends

    kernel = backend == "kernel" or (backend == "auto" and backends.kernel_may_answer())
    secret_service = backend == "secret-service" or (
        backend == "auto" and env("DBUS_SESSION_BUS_ADDRESS")
        and backends.keyring_uses_secret_service())
    if not (kernel or secret_service):
        return None

    def read(names: list[str]) -> list | None:
        if secret_service:
            from ..backends import secret_service as service

            values = service.fast_read(backends.SERVICE, names)
            if values is not None and None not in values:
                return values
        if kernel:
            from ..backends import keyctl

            values = [keyctl.read_value(backends.SERVICE, name) for name in names]
            if None not in values:
                return values
        return None

    return read


def cached(card: dict, margin: int | None = None):
    """The card's cache entry, read as its store reads it on a hit, when it has more than its
    margin left; None for anything else."""
    from . import cache

    read = _reader(card.get("backend"))
    key = card.get("key")
    if read is None or type(key) is not str:
        return None
    try:
        first = read([key])
        header = None if first is None else cache.parse_header(first[0])
        if first is None or header is None:
            return None
        rest = read([cache.chunk_name(key, i) for i in range(1, header[0])]) \
            if header[0] > 1 else []
    except Exception:  # a refused or failing keyring: the full path says what is wrong
        return None
    if rest is None:
        return None
    credentials = cache.decode(key, [first[0], *rest])
    margin = card.get("margin") if margin is None else margin
    if credentials is None or type(margin) is not int:
        return None
    import time

    return credentials if credentials.seconds_left(time.time()) > margin else None


def hit(config: str | None, name: str, margin: int | None = None):
    """(the card, its credentials) of profile `name`, or None: the full path serves it.
    `margin`: instead of the card's (a prompt shows what is left, however little)."""
    if posix is None or not sys.platform.startswith("linux") or not name:
        return None
    if any(env(v) for v in NOT_HERE_ENV):
        return None
    path = config_file(config)
    card = None if path is None else read_card(path, name)
    credentials = None if card is None else cached(card, margin)
    return None if credentials is None else (card, credentials)


# -- the full path leaves the card -----------------------------------------------------------


def remember(config: str, profile, identities: list | None, margin: int) -> None:
    """Leave the card of `profile` (its config files' `identities` as its snapshot recorded
    them, None when there are none yet) for the next hit. Only an optimisation: any failure
    leaves no card, and the next run takes the full path again."""
    import os

    from . import cache

    if not sys.platform.startswith("linux") or not identities or profile.cache != "keyring" \
            or any(env(v) for v in NOT_HERE_ENV):
        return  # no card a hit here could use
    config = os.path.abspath(config)
    card = {"config": config, "name": profile.name, "env": [os.environ.get(v) for v in KEY_ENV],
            "files": identities, "key": cache.role_key(profile), "margin": int(margin),
            "backend": profile.keyring_backend, "account": profile.account_id,
            "region": profile.region}
    body = marshal.dumps(card)
    path = card_path(config, profile.name)
    if path is None:
        return
    from .. import files

    data = MAGIC + _tag(body) + body
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as f:
            if f.read(MAX_SIZE + 1) == data and _ours(os.fstat(f.fileno()), False):
                return  # the card is there already: no write on every full-path run
    except OSError:
        pass
    try:
        files.private_cache_dir("profiles")
        files.replace_atomically(path, data)
    except (OSError, files.UntrustedCacheDir):
        pass


def prompt_text(name: str, credentials) -> str:
    """A prompt's line: `NAME 42m`, `NAME 1h05m`, `NAME expired`."""
    import time

    left = credentials.expiration - time.time()
    if left <= 0:
        return f"{name} expired"
    minutes = int(left // 60)
    return f"{name} {minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{name} {minutes}m"
