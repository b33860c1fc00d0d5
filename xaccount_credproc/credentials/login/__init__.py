"""AWS Sign-In as a source: console credentials (`aws login`, `xaccount-credproc login`), the
login sessions, and where their tokens are kept.

A login is named by the AWS profile that uses it (`[profile NAME]` with `login_session = ARN`,
as the AWS CLI writes it) or by a `[logins.NAME]` table of the TOML config. Its token (the
15-minute credentials, the refresh token, the ID token, the DPoP key) is kept
- as the AWS CLI and botocore keep it (storage = "file", the default):
  `~/.aws/login/cache/<sha256 of the ARN>.json` or `$AWS_LOGIN_CACHE_DIRECTORY`, replaced
  atomically, mode 0600 in a 0700 directory, so a login made by `aws login` serves this helper
  and one made here serves `aws` 2.32+ and botocore with awscrt;
- or in the OS keyring alone (storage = "keyring"): no other tool can read it, and no file
  holds the refresh token or the key.

A file that is not the user's alone (another owner, readable or writable by others), or that is
not a token, is refused with a line saying so, and never overwritten. `flows.py` has the ways
in (the browser, a code pasted back), the renewal under the login's lock (`fresh_login`), and
logging out.

Nothing here is on the cache-hit path.
"""

import hashlib
import json
import os
import stat
import time

from ...errors import ConfigError, UserError
from ..sso import parse_timestamp, timestamp

# Renewed with this much left. botocore renews from 5 minutes (LoginCredentialFetcher): a helper
# that renews first leaves it a fresh token to read instead of a second rotation.
REFRESH_MARGIN = 6 * 60
# How long a login lasts before a person signs in again (AWS Sign-In user guide, "Login with
# console credentials": credentials refreshed for up to 12 hours).
SESSION_LIFETIME = 12 * 3600
CACHE_DIR_ENV = "AWS_LOGIN_CACHE_DIRECTORY"
# The login time, which the AWS CLI does not keep (botocore keeps unknown members on refresh).
LOGIN_AT = "xaccountCredprocLoginAt"
SESSION_ARN = "xaccountCredprocSession"  # the ARN, in a keyring entry (a file is named by it)
REQUIRED = ("accessToken", "refreshToken", "dpopKey", "clientId")  # botocore's
ACCESS_FIELDS = ("accessKeyId", "secretAccessKey", "sessionToken", "expiresAt")
MAX_FILE = 1 << 20
# A keyring entry of chunks (credentials/cache.py): a refresh token alone may be 12 288
# characters (the Sign-In service model), an ID token 4096.
KEYRING_CHUNKS = 32
STORAGES = ("file", "keyring")


def cache_directory() -> str:
    """Where the AWS CLI and botocore keep login tokens (botocore's
    get_login_token_cache_directory)."""
    from ... import files

    if CACHE_DIR_ENV in os.environ:
        return os.path.expanduser(os.path.expandvars(os.environ[CACHE_DIR_ENV]))
    return os.path.join(files.home(), ".aws", "login", "cache")


def cache_key(arn: str) -> str:
    """botocore's generate_login_cache_key: the SHA-256 of the session's name, in hex."""
    return hashlib.sha256(arn.encode("utf-8")).hexdigest()


def _claims(id_token) -> dict:
    """The claims of a JWT (an ID token), unverified: what it says about itself, for names and
    times, never for a decision of trust. {} when it is not one."""
    import base64

    parts = id_token.split(".") if isinstance(id_token, str) else []
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def subject_of(id_token) -> str | None:
    """The `sub` claim of an ID token: the session's ARN. None when it is not one."""
    sub = _claims(id_token).get("sub")
    return sub if isinstance(sub, str) and sub.startswith("arn:") else None


def claims_time(id_token, claim: str) -> float | None:
    value = _claims(id_token).get(claim)
    return float(value) if isinstance(value, int | float) else None


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


class TokenFile:
    """A login's token where the AWS CLI and botocore keep it."""

    def __init__(self, arn: str):
        self.arn = arn
        self.directory = cache_directory()
        self.path = os.path.join(self.directory, cache_key(arn) + ".json")

    def where(self) -> str:
        return self.path

    def read(self, login: "LoginSession") -> dict | None:
        """The token document; None when there is none. ConfigError for a file that is not the
        user's alone, or not a token."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ConfigError(f"cannot read the token of {login.label} at {self.path} "
                              f"({e.strerror})", f"check the file, or log in again: "
                              f"run {login.login_command}") from None
        with open(fd, "rb") as f:
            st = os.fstat(f.fileno())
            self._check_private(st, login)
            data = f.read(MAX_FILE + 1)
        try:
            document = json.loads(data) if len(data) <= MAX_FILE else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ConfigError(f"{self.path} (the token of {login.label}) is not a login token "
                              "(truncated or corrupt JSON)", f"log in again: run "
                              f"{login.login_command} (it replaces the file)")
        return document

    def _check_private(self, st, login: "LoginSession") -> None:
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{self.path} (the token of {login.label}) is not a regular "
                              "file", "remove it and log in again")
        if st.st_uid != os.geteuid():
            raise ConfigError(f"{self.path} (the token of {login.label}) belongs to another "
                              f"user (uid {st.st_uid}): it is not used",
                              f"remove it, then log in again: run {login.login_command}")
        if st.st_mode & 0o077:
            raise ConfigError(f"{self.path} (the token of {login.label}) is readable or "
                              f"writable by other users (mode {stat.S_IMODE(st.st_mode):04o}): "
                              "it is not used", f"run 'chmod 600 {self.path}', and log in "
                              "again if others may have read it")
        try:
            directory = os.stat(self.directory)
        except OSError:
            return
        if directory.st_uid != os.geteuid() or directory.st_mode & 0o022:
            raise ConfigError(f"{self.directory} (where the token of {login.label} is kept) "
                              "may be written by another user, who could put a token of theirs "
                              "there", f"run 'chmod 700 {self.directory}' (it must be yours)")

    def write(self, document: dict, login: "LoginSession") -> None:
        from ... import files

        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            os.chmod(self.directory, 0o700)
            files.replace_atomically(self.path, json.dumps(document, indent=2).encode("utf-8"))
        except OSError as e:
            raise UserError(f"cannot write the token of {login.label} to {self.path} "
                            f"({e.strerror})", f"check the permissions of {self.directory}") \
                from None

    def remove(self) -> bool:
        try:
            os.unlink(self.path)
            return True
        except FileNotFoundError:
            return False


class KeyringToken:
    """A login's token in the OS keyring alone, under `login/NAME` (the login's own name: the
    ARN is inside)."""

    def __init__(self, name: str, backend: str):
        self.name, self.backend = name, backend
        self.key = "login/" + name

    def _entries(self):
        from ...backends import store_named
        from ..cache import Entries

        return Entries(store_named(self.backend), KEYRING_CHUNKS)

    def where(self) -> str:
        from ...backends import StoreError, store_named

        try:
            return store_named(self.backend).where()
        except StoreError:
            return "the OS keyring"

    def _failed(self, e, login: "LoginSession", doing: str) -> UserError:
        return UserError(f"cannot {doing} the token of {login.label} in the OS keyring: "
                         f"{e.what}", e.fix)

    def read(self, login: "LoginSession") -> dict | None:
        from ...backends import StoreError

        try:
            payload = self._entries().get_payload(self.key)
        except StoreError as e:
            raise self._failed(e, login, "read") from None
        if payload is None:
            return None
        try:
            document = json.loads(payload)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ConfigError(f"the OS keyring's token of {login.label} is not a login token",
                              f"log in again: run {login.login_command}")
        return document

    def write(self, document: dict, login: "LoginSession") -> None:
        from ...backends import StoreError
        from ..cache import CHUNK, pieces

        try:
            entries = self._entries()
            chunk = entries.store.traits().chunk_size or CHUNK
            entries.put_chunks(self.key, pieces(json.dumps(document, separators=(",", ":")),
                                                chunk, KEYRING_CHUNKS))
        except StoreError as e:
            raise self._failed(e, login, "keep") from None

    def remove(self) -> bool:
        from ...backends import StoreError

        try:
            return self._entries().delete(self.key)
        except StoreError:
            return False


class LoginSession:
    """One login: its name (the AWS profile, or [logins.NAME]), the ARN that signed in (None
    before the first login), where its token is kept, and the region of AWS Sign-In."""

    def __init__(self, name: str, arn: str | None, region: str | None, storage: str = "file",
                 keyring_backend: str = "auto"):
        self.name, self.arn, self.region = name, arn, region
        self.storage, self.keyring_backend = storage, keyring_backend

    @property
    def label(self) -> str:
        return f"login '{self.name}'"

    @property
    def login_command(self) -> str:
        command = f"'xaccount-credproc login --profile {self.name}'"
        if self.storage == "file":
            command += f" (or 'aws login --profile {self.name}')"
        return command

    @property
    def lock_name(self) -> str:
        # One lock per token: two profiles naming one session share its file, and its lock.
        if self.storage == "file" and self.arn:
            return "login/" + cache_key(self.arn)[:32]
        return "login-keyring/" + cache_key(self.name)[:32]

    def token_store(self) -> "TokenFile | KeyringToken | None":
        if self.storage == "keyring":
            return KeyringToken(self.name, self.keyring_backend)
        return TokenFile(self.arn) if self.arn else None

    def read(self) -> dict | None:
        store = self.token_store()
        return None if store is None else store.read(self)

    def write(self, document: dict) -> None:
        arn = document.get(SESSION_ARN) if self.storage == "keyring" else self.arn
        store = KeyringToken(self.name, self.keyring_backend) if self.storage == "keyring" \
            else TokenFile(str(arn))
        store.write(document, self)


def seconds_left(document: dict | None) -> float:
    access = (document or {}).get("accessToken")
    when = parse_timestamp(access.get("expiresAt")) if isinstance(access, dict) else None
    return -1.0 if when is None else when - time.time()


def checked(document: dict, login: LoginSession) -> dict:
    """`document`, which must be a login token botocore would take (its required members, an
    access key with all its fields); ConfigError naming what is missing."""
    missing = [k for k in REQUIRED if not document.get(k)]
    access = document.get("accessToken")
    if isinstance(access, dict):
        missing += [f"accessToken.{k}" for k in ACCESS_FIELDS if not isinstance(access.get(k),
                                                                                str)]
        if "accessToken.expiresAt" not in missing and parse_timestamp(access["expiresAt"]) is None:
            missing.append("accessToken.expiresAt (not a time)")
    if missing:
        where = login.token_store()
        raise ConfigError(f"the token of {login.label}"
                          + (f" ({where.where()})" if where is not None else "")
                          + f" lacks {', '.join(missing)}: it is truncated or not a login token",
                          f"log in again: run {login.login_command}")
    return document


def credentials_of(document: dict):
    """The login's own (15-minute) credentials."""
    from .. import Credentials

    access = document["accessToken"]
    expires = parse_timestamp(access["expiresAt"]) or 0
    return Credentials(access["accessKeyId"], access["secretAccessKey"], access["sessionToken"],
                       int(expires))


def login_time(document: dict) -> float | None:
    """When the person signed in: kept by this helper at login, else the ID token's auth_time
    (or iat)."""
    kept = parse_timestamp(document.get(LOGIN_AT))
    if kept is not None:
        return kept
    token = document.get("idToken")
    return claims_time(token, "auth_time") or claims_time(token, "iat")


def state(login: LoginSession) -> tuple[str, bool]:
    """(a line saying who is signed in, until when the access key lasts and when the login
    ends; whether it can serve now or be renewed without a person). Never a token."""
    try:
        document = login.read()
    except UserError as e:
        return f"unusable: {e.what}", False
    if document is None:
        return "not signed in", False
    arn = document.get(SESSION_ARN) or login.arn or subject_of(document.get("idToken")) or "?"
    left = seconds_left(document)
    found = document.get("accessToken")
    access: dict = found if isinstance(found, dict) else {}
    key = (f"access key until {access.get('expiresAt')}" if left > 0 else
           f"access key expired at {access.get('expiresAt')} (renewed on next use)")
    started = login_time(document)
    if started is None:
        ends, live = "login time unknown", True
    else:
        end = started + SESSION_LIFETIME
        live = end > time.time()
        hours, minutes = divmod(max(0, int((end - time.time()) // 60)), 60)
        ends = (f"login ends {timestamp(end)} ({hours}h{minutes:02d}m left)" if live
                else f"login ended {timestamp(end)}: log in again")
    return f"{arn}; {key}; {ends}", live and bool(document.get("refreshToken"))


# Settings of an AWS profile through which botocore gets credentials another way: `login` does
# not add a login to such a profile (the AWS CLI's rule: they would still come first).
OTHER_CREDENTIALS = (("web_identity_token_file", "web identity"), ("sso_role_name", "SSO"),
                     ("sso_account_id", "SSO"), ("aws_access_key_id", "access key"),
                     ("role_arn", "assume role"), ("credential_process", "credential process"))


def login_named(name: str, config_file: str | None, region: str | None = None) -> LoginSession:
    """The login `name` means: a [logins.NAME] of the TOML config, else the AWS profile NAME
    (kept as the AWS CLI keeps it), else a TOML profile whose chain starts at a login. For a
    login kept in a file, an AWS profile that gets credentials another way is refused."""
    from ...config import LoginSettings, loader, model
    from ..sso import aws_config

    loaded = None
    if config_file and os.path.exists(config_file):
        loaded = loader.load(config_file, lenient=True)
    settings = model.login(loaded, name) if loaded is not None and name in loaded.logins \
        else None
    aws = aws_config()
    profiles = aws.get("profiles", {})
    if settings is None and loaded is not None and name in loaded.profiles:
        root = loaded.resolve(name).chain[0].source_profile
        raise ConfigError(f"'{name}' is a role of the TOML config, not a login (its chain "
                          f"starts at '{root}')", f"log in as its source: run "
                          f"'xaccount-credproc login --profile {root}'")
    settings = settings or LoginSettings(name=name)
    section = profiles.get(name) or {}
    if settings.storage == "file":
        for key, style in OTHER_CREDENTIALS:
            if section.get(key):
                raise ConfigError(f"AWS profile '{name}' already gets {style} credentials "
                                  f"({key}), which botocore would use before a login",
                                  f"log in with another profile name (--profile NEW), or "
                                  f"remove {key} from [profile {name}]")
    region = (region or settings.region or section.get("region")
              or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
              or "us-east-1")
    arn = section.get("login_session") if settings.storage == "file" else None
    return LoginSession(name, arn or None, region, settings.storage, settings.keyring_backend)


def every_login(config_file: str | None) -> list[LoginSession]:
    """Each login the configs know: the TOML's [logins.NAME], and the AWS profiles with a
    login_session, by name."""
    from ...config import loader, model
    from ..sso import aws_config

    found: dict[str, LoginSession] = {}
    for name, section in sorted(aws_config().get("profiles", {}).items()):
        if section.get("login_session"):
            found[name] = LoginSession(name, section["login_session"], section.get("region"))
    if config_file and os.path.exists(config_file):
        loaded = loader.load(config_file, lenient=True)
        for name in sorted(loaded.logins):
            settings = model.login(loaded, name)
            arn = found[name].arn if name in found and settings.storage == "file" else None
            found[name] = LoginSession(name, arn, settings.region, settings.storage,
                                       settings.keyring_backend)
    return [found[name] for name in sorted(found)]
