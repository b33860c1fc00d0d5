"""The Secret Service (Linux: gnome-keyring, KWallet, KeePassXC) as a store: `SecretServiceStore`,
and `fast_read`, its read-only fast path for cache hits.

`import keyring` plus its backend discovery costs about 260 ms, ten times a bare interpreter
start, on every `aws` command; even jeepney (keyring's own D-Bus library) costs 30 ms to import.
On Linux keyring's Secret Service backend stores an entry as an item of the default collection
with the attributes {"service", "username"}, its secret being the UTF-8 text. This module reads
exactly that item with a minimal D-Bus client of its own (backends/dbus.py: a Unix socket and
`struct`) and gives up, returning None so the caller asks keyring itself, on anything unexpected:
another backend configured for keyring, no session bus, a locked item, a D-Bus error. It never
writes: all writes go through keyring's SecretService backend (keyring_library.py).

The "plain" transfer algorithm is used: the secret crosses the user's own session-bus socket,
which other users cannot open (the same trust keyring places in that bus for everything else).
"""

from .. import environ
from .dbus import BUS_NAME, Bus, NoAnswer, Unusable

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..errors import StoreError
    from .keyring_library import KeyringLibraryStore
    from .store import Traits

SECRETS = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
TIMEOUT = 2.0


class SecretServiceStore:
    """keyring_backend = "secret-service": only the Secret Service, whatever keyring would
    choose. A SecretStore (store.py)."""

    def __init__(self, service: str, timeout: float):
        self.service, self.timeout = service, timeout
        self._library: KeyringLibraryStore | None = None  # for everything but a hit
        self._stuck: StoreError | None = None

    def where(self) -> str:
        return "the OS keyring"

    def traits(self) -> "Traits":
        from .store import DURABLE  # not on the hit path

        return DURABLE

    def describe(self) -> str:
        return self._keyring().describe()

    def _keyring(self):
        if self._stuck is not None:
            raise self._stuck
        if self._library is None:
            from . import keyring_library

            bounds = keyring_library.Bounds(self.timeout)
            self._library = keyring_library.KeyringLibraryStore(
                keyring_library.secret_service_backend(bounds), self.service, bounds)
            from .. import debug

            debug.log("store: the Secret Service (forced)")
        return self._library

    def get_many(self, names: list[str]) -> list[str | None]:
        from ..errors import StoreError

        if self._stuck is not None:
            raise self._stuck
        try:
            values = fast_read(self.service, names)
        except StoreError as e:
            self._stuck = e
            raise
        if values is not None and None not in values:
            return values
        return self._keyring().get_many(names)

    def set(self, name: str, value: str, expires: int | None = None) -> None:
        self._keyring().set(name, value, expires)

    def delete(self, name: str) -> bool:
        return self._keyring().delete(name)


def fast_read(service: str, usernames: list[str]) -> list[str | None] | None:
    """`read`, or None without a session bus (SSH, WSL2, servers: not even the D-Bus client is
    loaded then). Raises StoreError when the bus did not answer in time or broke the protocol."""
    if not environ("DBUS_SESSION_BUS_ADDRESS"):
        return None
    try:
        return read(service, usernames)
    except Unusable as e:
        what = (f"did not answer within {TIMEOUT:g}s" if isinstance(e, NoAnswer)
                else "sent a malformed D-Bus reply")
        from ..errors import StoreError
        from .store import KEYRING_FIX

        raise StoreError(f"the Secret Service {what}", "its daemon (gnome-keyring, KWallet) "
                         f"may be hung or broken: restart it, {KEYRING_FIX}") from None


def read(service: str, usernames: list[str]) -> list[str | None] | None:
    """The secrets stored by keyring for (service, username) each, None for a missing one.

    Returns None as a whole when the fast path cannot answer with certainty (keyring then
    asks). Raises `Unusable` when the peer did not answer within TIMEOUT or broke the protocol:
    keyring's D-Bus library would talk to the same peer without such bounds (it can wait
    forever, or spin on a malformed reply), so the caller should not ask it.
    """
    try:
        bus = Bus.session(TIMEOUT)
    except Unusable:
        raise
    except Exception:
        return None
    if bus is None:
        return None
    try:
        return _read_items(bus, service, usernames)
    except Unusable:
        raise
    except Exception:
        return None
    finally:
        bus.close()


def _read_items(bus: "Bus", service: str, usernames: list[str]) -> list[str | None] | None:
    # Pipelined in two flights (a cache hit waits on two round trips, not seven): who owns the
    # Secret Service name, the searches and a session; then each item's lock and the secrets.
    # Replies must come from the connection that owns the Secret Service name right now.
    owner_call = bus.send("/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", "s",
                          [SECRETS], destination=BUS_NAME)
    searches = [bus.send(DEFAULT_COLLECTION, "org.freedesktop.Secret.Collection", "SearchItems",
                         "a{ss}", [[("service", service), ("username", username)]],
                         destination=SECRETS) for username in usernames]
    # No Close: a session ends with the connection that opened it (Secret Service API,
    # "Sessions"), which the caller closes next.
    session_call = bus.send(SERVICE_PATH, "org.freedesktop.Secret.Service", "OpenSession", "sv",
                            ["plain", ("s", "")], destination=SECRETS)
    (owner,) = bus.reply(owner_call, "GetNameOwner", "s", BUS_NAME)
    if not owner.startswith(":"):
        return None
    bus.peer = owner
    found = []
    for serial in searches:
        (paths,) = bus.reply(serial, "SearchItems", "ao", owner)
        found.append(paths[0] if paths else None)
    _, session = bus.reply(session_call, "OpenSession", "vo", owner)
    wanted = [p for p in found if p]
    if not wanted:
        return [None] * len(usernames)
    locks = [bus.send(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                      ["org.freedesktop.Secret.Item", "Locked"], destination=SECRETS)
             for path in wanted]
    secrets_call = bus.send(SERVICE_PATH, "org.freedesktop.Secret.Service", "GetSecrets", "aoo",
                            [wanted, session], destination=SECRETS)
    for serial in locks:
        ((kind, locked),) = bus.reply(serial, "Get", "v", owner)
        if kind != "b" or locked:
            return None  # keyring would try to unlock it: let it
    (secrets,) = bus.reply(secrets_call, "GetSecrets", "a{o(oayays)}", owner)
    by_path = dict(secrets)
    out: list[str | None] = []
    for path in found:
        if path is None:
            out.append(None)
            continue
        if path not in by_path:
            return None
        secret_session, parameters, value, _ = by_path[path]
        if parameters or secret_session != session:  # an encrypted transfer we did not ask for
            return None
        # Not UTF-8 (written by something else): a value that parses as no entry, so the
        # caller sees a miss and overwrites it, instead of keyring failing on it every time.
        out.append(value.decode("utf-8", "replace"))
    return out
