"""Read-only fast path to the Secret Service (Linux) for cache hits.

`import keyring` plus its backend discovery costs about 260 ms, ten times a bare interpreter
start, on every `aws` command; even jeepney (keyring's own D-Bus library) costs 30 ms to import.
On Linux keyring's Secret Service backend stores an entry as an item of the default collection
with the attributes {"service", "username"}, its secret being the UTF-8 text. This module reads
exactly that item with a minimal D-Bus client of its own (backends/dbus.py: a Unix socket and
`struct`) and gives up, returning None so the caller asks keyring itself, on anything unexpected:
another backend configured for keyring, no session bus, a locked item, a D-Bus error. It never
writes: all writes go through keyring.

The "plain" transfer algorithm is used: the secret crosses the user's own session-bus socket,
which other users cannot open (the same trust keyring places in that bus for everything else).
"""

from .dbus import BUS_NAME, Bus, Unusable

SECRETS = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
TIMEOUT = 2.0


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
    # Replies must come from the connection that owns the Secret Service name right now.
    (owner,) = bus.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", "s",
                        [SECRETS], "s", destination=BUS_NAME)
    if not owner.startswith(":"):
        return None
    bus.peer = owner
    found = []
    for username in usernames:
        (paths,) = bus.call(DEFAULT_COLLECTION, "org.freedesktop.Secret.Collection",
                            "SearchItems", "a{ss}", [[("service", service), ("username", username)]],
                            "ao", destination=SECRETS)
        found.append(paths[0] if paths else None)
    wanted = [p for p in found if p]
    if not wanted:
        return [None] * len(usernames)
    for path in wanted:
        ((kind, locked),) = bus.call(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                     ["org.freedesktop.Secret.Item", "Locked"], "v",
                                     destination=SECRETS)
        if kind != "b" or locked:
            return None  # keyring would try to unlock it: let it
    output, session = bus.call(SERVICE_PATH, "org.freedesktop.Secret.Service", "OpenSession",
                               "sv", ["plain", ("s", "")], "vo", destination=SECRETS)
    try:
        (secrets,) = bus.call(SERVICE_PATH, "org.freedesktop.Secret.Service", "GetSecrets",
                              "aoo", [wanted, session], "a{o(oayays)}", destination=SECRETS)
    finally:
        bus.call(session, "org.freedesktop.Secret.Session", "Close", "", [], "",
                 destination=SECRETS)
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
