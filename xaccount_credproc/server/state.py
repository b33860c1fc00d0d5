"""The server's state, under the runtime dir ($XDG_RUNTIME_DIR/xaccount-credproc/server, 0700;
files 0600): `server.json` says where the running server listens, and `clients/` holds one file
per client allowed to ask.

A client is given a random token (256 bits) for `Authorization`, and with `--container` a random
path secret for `RELATIVE_URI` (Ruby's SDK sends no header). Only their SHA-256 digests are
kept: the directory never holds what a client presents. Removing a client's file revokes it at
once; the server sees the directory change on the next request. The runtime dir is emptied at
logout or reboot, and the tokens with it.
"""

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time

from .. import files
from ..errors import ConfigError, UserError

STATE_FILE = "server.json"
CLIENTS = "clients"
MAX_CLIENT_FILE = 4096


def location() -> str:
    """Where the server's directory is (made or not)."""
    return os.path.join(files.runtime_dir(), "server")


def directory() -> str:
    """The server's private directory (made if needed). Raises UserError."""
    try:
        return os.path.dirname(files.private_runtime_dir("server", CLIENTS))
    except files.UntrustedCacheDir as e:
        raise UserError(e.what.replace("the cache directory", "the credential server's directory",
                                       1).replace(", so it is not used", ""),
                        "make it a directory of your own with mode 700, or set XDG_RUNTIME_DIR "
                        "to one") from None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Client:
    __slots__ = ("id", "label", "profiles", "token_digest", "path_digest", "created")

    def __init__(self, id: str, label: str, profiles: list[str], token_digest: str | None,
                 path_digest: str | None, created: float):
        self.id = id
        self.label = label
        self.profiles = profiles
        self.token_digest = token_digest
        self.path_digest = path_digest
        self.created = created

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data) -> "Client | None":
        try:
            client = cls(**data)
        except TypeError:
            return None
        ok = (isinstance(client.id, str) and isinstance(client.label, str)
              and isinstance(client.profiles, list)
              and all(isinstance(p, str) for p in client.profiles)
              and all(d is None or (isinstance(d, str) and len(d) == 64)
                      for d in (client.token_digest, client.path_digest))
              and isinstance(client.created, int | float))
        return client if ok else None


class NewClient:
    """A client just registered, with the secrets only its holder gets (never stored)."""

    def __init__(self, client: Client, token: str | None, path_secret: str | None):
        self.client = client
        self.token = token
        self.path_secret = path_secret


def new_client(profiles: list[str], label: str, container: bool = False) -> NewClient:
    token = secrets.token_urlsafe(32)
    path_secret = secrets.token_urlsafe(24) if container else None
    client = Client(id=secrets.token_hex(4), label=label, profiles=list(profiles),
                    token_digest=digest(token),
                    path_digest=digest(path_secret) if path_secret else None,
                    created=time.time())
    return NewClient(client, token, path_secret)


def register(profiles: list[str], label: str, container: bool = False) -> NewClient:
    """A new client, saved in the clients directory. Raises UserError."""
    made = new_client(profiles, label, container)
    path = os.path.join(directory(), CLIENTS, f"{made.client.id}.json")
    try:
        files.replace_atomically(path, json.dumps(made.client.as_dict()).encode())
    except OSError as e:
        raise UserError(f"cannot save the client in {path}: {e.strerror}",
                        "check the runtime directory ($XDG_RUNTIME_DIR)") from None
    return made


def revoke(client_id: str) -> bool:
    if not client_id.isalnum():
        raise ConfigError(f"'{client_id}' is not a client id", "see 'xaccount-credproc list'")
    try:
        os.unlink(os.path.join(directory(), CLIENTS, f"{client_id}.json"))
    except FileNotFoundError:
        return False
    return True


def saved_clients() -> list[Client]:
    """The saved clients, oldest first; unreadable files are skipped."""
    folder = os.path.join(location(), CLIENTS)
    out = []
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if not name.endswith(".json"):
                continue
            client = _read_client(os.path.join(folder, name))
            if client is not None:
                out.append(client)
    return sorted(out, key=lambda c: c.created)


def _read_client(path: str) -> Client | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, "rb") as f:
            data = json.loads(f.read(MAX_CLIENT_FILE))
    except (OSError, ValueError):
        return None
    return Client.from_dict(data) if isinstance(data, dict) else None


class Registry:
    """The clients as the server sees them: the saved ones (read again whenever the directory
    changes, a stat per request) plus those it made itself in memory (`exec --server`)."""

    def __init__(self, saved: bool = True):
        self.saved = saved
        self._folder = os.path.join(directory(), CLIENTS) if saved else None
        self._seen: int | None = None
        self._clients: list[Client] = []
        self.own: list[Client] = []
        self.cleared: tuple[int | None, list[str]] = (None, [])  # the last `clear`'s note

    def _current(self) -> list[Client]:
        if self._folder is not None:
            try:
                mark = os.stat(self._folder).st_mtime_ns
            except OSError:
                mark = None
            if mark != self._seen:
                self._seen = mark
                self._clients = saved_clients()
                self.cleared = cleared()
        return self._clients + self.own

    def by_token(self, token: str) -> Client | None:
        """The client holding `token`."""
        return self._holding("token_digest", token)

    def by_path(self, secret: str) -> Client | None:
        """The client whose container URI has the path secret `secret`."""
        return self._holding("path_digest", secret)

    def _holding(self, field: str, secret: str) -> Client | None:
        """Every client's digest is compared, in constant time, whatever matches first."""
        wanted = digest(secret)
        found = None
        for client in self._current():
            held = getattr(client, field)
            if held and hmac.compare_digest(held, wanted):
                found = client
        return found


# -- `clear` ------------------------------------------------------------------------------------

CLEARED = "cleared"


def tell_cleared(names: list[str]) -> bool:
    """Tell a running server that `clear` removed these profiles' cache entries: it drops its
    warm copies at its next request. The note goes into the clients directory, whose change the
    server notices anyway (one stat per request for both). Whether a server was told."""
    if read_running() is None:
        return False
    try:
        files.replace_atomically(os.path.join(location(), CLIENTS, CLEARED),
                              "\n".join(names).encode())
    except OSError:
        return False
    return True


def cleared() -> tuple[int | None, list[str]]:
    """(the mark of the last `clear`, the profiles it named)."""
    path = os.path.join(location(), CLIENTS, CLEARED)
    try:
        mark = os.stat(path).st_mtime_ns
        with open(path, "rb") as f:
            names = f.read(MAX_CLIENT_FILE * 16).decode("utf-8", "replace").split("\n")
    except OSError:
        return None, []
    return mark, names


# -- server.json ---------------------------------------------------------------------------------


def write_running(info: dict) -> str:
    path = os.path.join(directory(), STATE_FILE)
    files.replace_atomically(path, json.dumps(info).encode())
    return path


def clear_running(pid: int) -> None:
    info = read_running(check_alive=False)
    if info is not None and info.get("pid") == pid:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(location(), STATE_FILE))


def read_running(check_alive: bool = True) -> dict | None:
    """What the last server wrote about itself, or None; with `check_alive`, only if its
    process still runs."""
    if not files.trusted_dir(location()):  # absent, or not ours alone: nothing to believe
        return None
    path = os.path.join(location(), STATE_FILE)
    try:
        with open(path, "rb") as f:
            info = json.loads(f.read(MAX_CLIENT_FILE))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int) \
            or not isinstance(info.get("port"), int):
        return None
    if check_alive:
        try:
            os.kill(info["pid"], 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, though not ours to signal (should not happen in our own directory)
    return info
