"""Per-OS locations of the config file and the cache directory.

A few lines of our own instead of platformdirs: this runs on every `aws` command.
"""

import os
import sys
from pathlib import Path

APP = "xaccount-credproc"
CONFIG_ENV = "XACCOUNT_CREDPROC_CONFIG"
CACHE_DIR_ENV = "XACCOUNT_CREDPROC_CACHE_DIR"


def _home() -> Path:
    return Path(os.path.expanduser("~"))


def user_config_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or _home() / "AppData" / "Roaming") / APP
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support" / APP
    return Path(os.environ.get("XDG_CONFIG_HOME") or _home() / ".config") / APP


def user_cache_dir() -> Path:
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or _home() / "AppData" / "Local"
        return Path(base) / APP / "Cache"
    if sys.platform == "darwin":
        return _home() / "Library" / "Caches" / APP
    return Path(os.environ.get("XDG_CACHE_HOME") or _home() / ".cache") / APP


def config_path(explicit: str | None = None) -> Path:
    """`--config`, else $XACCOUNT_CREDPROC_CONFIG, else the per-OS user config dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    return user_config_dir() / "config.toml"


def aws_config_path() -> Path:
    """The AWS CLI's config file, as botocore finds it."""
    return Path(os.environ.get("AWS_CONFIG_FILE") or _home() / ".aws" / "config").expanduser()


def aws_credentials_path() -> Path:
    return Path(
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or _home() / ".aws" / "credentials"
    ).expanduser()


def private_dir(path) -> Path:
    """Create `path` (and parents) readable by this user only; return it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
