"""Per-OS locations of the config file and the cache directory, as strings.

A few lines of our own instead of platformdirs, and os.path instead of pathlib: this runs on every
`aws` command, and pathlib (with urllib.parse) costs several milliseconds to import.
"""

import os
import sys

APP = "xaccount-credproc"
CONFIG_ENV = "XACCOUNT_CREDPROC_CONFIG"
CACHE_DIR_ENV = "XACCOUNT_CREDPROC_CACHE_DIR"
join = os.path.join


def _home() -> str:
    return os.path.expanduser("~")


def user_config_dir() -> str:
    if sys.platform == "win32":
        return join(os.environ.get("APPDATA") or join(_home(), "AppData", "Roaming"), APP)
    if sys.platform == "darwin":
        return join(_home(), "Library", "Application Support", APP)
    return join(os.environ.get("XDG_CONFIG_HOME") or join(_home(), ".config"), APP)


def user_cache_dir() -> str:
    if os.environ.get(CACHE_DIR_ENV):
        return os.environ[CACHE_DIR_ENV]
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or join(_home(), "AppData", "Local")
        return join(base, APP, "Cache")
    if sys.platform == "darwin":
        return join(_home(), "Library", "Caches", APP)
    return join(os.environ.get("XDG_CACHE_HOME") or join(_home(), ".cache"), APP)


def config_path(explicit: str | None = None) -> str:
    """`--config`, else $XACCOUNT_CREDPROC_CONFIG, else the per-OS user config dir."""
    if explicit:
        return os.path.expanduser(explicit)
    if os.environ.get(CONFIG_ENV):
        return os.path.expanduser(os.environ[CONFIG_ENV])
    return join(user_config_dir(), "config.toml")


def aws_config_path() -> str:
    """The AWS CLI's config file, as botocore finds it."""
    return os.path.expanduser(os.environ.get("AWS_CONFIG_FILE") or join(_home(), ".aws", "config"))


def aws_credentials_path() -> str:
    return os.path.expanduser(os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
                              or join(_home(), ".aws", "credentials"))


def private_cache_dir(name: str) -> str:
    """A subdirectory of the cache dir; both readable by this user only. Returns it."""
    base = user_cache_dir()
    path = join(base, name)
    for directory in (base, path):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.stat(directory).st_mode & 0o077:
            os.chmod(directory, 0o700)
    return path
