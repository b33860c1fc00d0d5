"""Where this tool keeps files, and how it writes them: the cache directory, private
directories (mode 0700, refused when someone else could write there), the runtime directory
for locks and the credential server's state, and the one atomic replacement every file goes
through (the AWS config, the TOML config, the vault, snapshots, the server's state).

A few lines of our own instead of platformdirs, and os.path instead of pathlib: this runs on every
`aws` command, and pathlib (with urllib.parse) costs several milliseconds to import.
"""

import os
import sys

from .errors import ConfigError, UserError

APP = "xaccount-credproc"
CACHE_DIR_ENV = "XACCOUNT_CREDPROC_CACHE_DIR"
join = os.path.join


def home() -> str:
    return os.path.expanduser("~")


def absolute_from_env(name: str) -> str | None:
    """The path in environment variable `name` (~ expanded), None when unset. Raises
    ConfigError for a relative one: the AWS CLI runs the helper from whatever directory the
    user is in, so it would name another place each time."""
    value = os.environ.get(name)
    if not value:
        return None
    path = os.path.expanduser(value)
    if not os.path.isabs(path):
        raise ConfigError(f"{name}={value!r} is a relative path, which would mean another place "
                          "in each directory a command runs from",
                          "set it to an absolute path, or unset it")
    return path


def user_cache_dir() -> str:
    explicit = absolute_from_env(CACHE_DIR_ENV)
    if explicit:
        return explicit
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or join(home(), "AppData", "Local")
        return join(base, APP, "Cache")
    if sys.platform == "darwin":
        return join(home(), "Library", "Caches", APP)
    return join(os.environ.get("XDG_CACHE_HOME") or join(home(), ".cache"), APP)


class UntrustedCacheDir(UserError):
    """The cache directory (or a part of it) could have been written by someone else."""

    def __init__(self, directory: str, reason: str):
        super().__init__(f"the cache directory {directory} {reason}, so it is not used",
                         "make it a directory of your own with mode 700, or set "
                         f"{CACHE_DIR_ENV} to one")


def check_trusted(st, directory: str, holds: str = "") -> None:
    """Refuse what another user owns or may write (`st` from stat/fstat of `directory`, or of
    the file in it that `holds` describes)."""
    if sys.platform == "win32":  # pragma: no cover - ACLs, not modes
        return
    subject = f"holds {holds} that " if holds else ""
    if st.st_uid != os.geteuid():
        raise UntrustedCacheDir(directory, f"{subject}belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o022:
        raise UntrustedCacheDir(directory, f"{subject}is writable by "
                                "other users")


def trusted_dir(directory: str) -> bool:
    """Whether `directory` exists and is ours alone to write (follows a symlink: the target
    counts). Raises UntrustedCacheDir when it exists but is not; False when it does not exist."""
    import stat

    try:
        st = os.stat(directory)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise UntrustedCacheDir(directory, f"cannot be read ({e.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UntrustedCacheDir(directory, "is not a directory")
    check_trusted(st, directory)
    return True


def private_cache_dir(name: str) -> str:
    """A subdirectory of the cache dir; both this user's alone. Returns it.

    Created with mode 0700 where missing. An existing directory of ours that others may read
    (but not write) is tightened through a descriptor opened without following links, so a symlink is never
    chmodded (its target, which may be a shared directory, is only checked). Raises
    UntrustedCacheDir for anything another user owns or can write: whoever can write there can
    plant lock files and profile snapshots.
    """
    base = user_cache_dir()
    path = join(base, name)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(base)), mode=0o700, exist_ok=True)
    except OSError as e:
        raise UntrustedCacheDir(base, f"cannot be created ({e.strerror})") from None
    for directory in (base, path):
        make_private(directory)
    return path


def runtime_dir() -> str:
    """Where a per-user directory may live when the cache dir cannot hold locks:
    $XDG_RUNTIME_DIR (the user's own, a tmpfs), else a per-uid directory in the temp dir."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        return join(base, APP)
    tmp = os.environ.get("TMPDIR")
    # A shared directory: _make_private refuses what another user made or can write there.
    return join(tmp if tmp and os.path.isabs(tmp) else "/tmp", f"{APP}-{os.geteuid()}")  # noqa: S108


def locks_dir() -> tuple[str, UntrustedCacheDir | None]:
    """(a directory of ours where lock files can be made, why the cache dir's could not be used
    or None). The cache dir's locks/ first; where that cannot be written (a read-only mount,
    chattr +i, another user's directory), a private locks/ under runtime_dir(). Raises the cache
    dir's UntrustedCacheDir when neither can be used."""
    first: UntrustedCacheDir | None = None
    for make in (lambda: private_cache_dir("locks"), lambda: private_runtime_dir("locks")):
        try:
            directory = make()
            _check_writable(directory)
            return directory, first
        except UntrustedCacheDir as e:
            first = first or e
    assert first is not None
    raise first


def private_runtime_dir(*parts: str) -> str:
    """runtime_dir()/PARTS..., each level made private (0700) and refused when it is a symbolic
    link or not this user's alone (the locks' fallback, the credential server's state). Raises
    UntrustedCacheDir."""
    path = runtime_dir()
    levels = [path]
    for part in parts:
        path = join(path, part)
        levels.append(path)
    for directory in levels:
        # In a shared directory someone else may have planted a link to a directory of ours.
        if os.path.islink(directory):
            raise UntrustedCacheDir(directory, "is a symbolic link")
        make_private(directory)
    return path


def _check_writable(directory: str) -> None:
    """Raises UntrustedCacheDir unless a file can be made in `directory` (mode bits do not say:
    root ignores them, and neither shows a read-only mount or an immutable directory)."""
    probe = join(directory, f".probe-{os.getpid()}")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0), 0o600))
        os.unlink(probe)
    except FileExistsError:  # left by a process of ours that was killed: the directory works
        try:  # noqa: SIM105 - contextlib costs milliseconds on the hit path's module
            os.unlink(probe)
        except OSError:
            pass
    except OSError as e:
        raise UntrustedCacheDir(directory, f"cannot be written ({e.strerror})") from None


def make_private(directory: str) -> None:
    import stat

    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise UntrustedCacheDir(directory, f"cannot be created ({e.strerror})") from None
    if sys.platform == "win32":  # pragma: no cover
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        # A symlink (a cache moved to another disk) or not a directory: check, never chmod.
        if not trusted_dir(directory):
            _missing(directory)
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode):
            raise UntrustedCacheDir(directory, "is not a directory")
        if st.st_uid != os.geteuid():
            check_trusted(st, directory)
        if st.st_mode & 0o002:
            raise UntrustedCacheDir(directory, "is writable by every user")
        if st.st_mode & 0o020:
            # Ours, but others could have written there already: refused as the reader refuses
            # it, and left as it is (a directory is never tightened and then "not used").
            raise UntrustedCacheDir(directory, "is writable by other users")
        if st.st_mode & 0o077:  # only readable by others: made private
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def _missing(directory: str) -> None:
    raise UntrustedCacheDir(directory, "vanished while it was being checked")


def replace_atomically(path: str, data: bytes, mode: int = 0o600) -> None:
    """Put `data` at `path`: a new temp file beside it (mode 0600, opened without following a
    link, never an existing file), written and fsynced, given `mode`, renamed into place, and
    the directory fsynced, so a crash or a kill at any point leaves the old file or the new one,
    never a mix, and the temp file never outlives a failure. Raises OSError."""
    import contextlib

    directory = os.path.dirname(path) or "."
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode != 0o600:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):  # gone when it was renamed into place
            os.unlink(temporary)
    if sys.platform == "win32":  # pragma: no cover - no directory handles to fsync
        return
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def replace_text(path: str, text: str, backup: bool = True) -> None:
    """Replace the user's file `path` (the AWS config, the TOML config) with `text` through
    replace_atomically. A new file gets mode 0600, an existing one keeps its mode; with
    `backup`, the previous content is kept as PATH.bak. A symlink (dotfile managers link
    ~/.aws/config) is written through, not replaced. Raises OSError."""
    path = os.path.realpath(path)
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
        exists = True
    except FileNotFoundError:
        mode, exists = 0o600, False
    if exists and backup:
        with open(path, "rb") as f:
            previous = f.read()
        replace_atomically(path + ".bak", previous, mode)
    replace_atomically(path, text.encode("utf-8"), mode)
