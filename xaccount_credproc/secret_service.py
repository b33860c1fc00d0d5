"""Read-only fast path to the Secret Service (Linux) for cache hits.

`import keyring` plus its backend discovery costs about 260 ms, ten times a bare interpreter start,
on every `aws` command. On Linux keyring's Secret Service backend stores an entry as an item in the
default collection with the attributes {"service", "username"}, its secret being the UTF-8 text.
This module reads exactly that item over D-Bus with jeepney (already a dependency of keyring on
Linux), and gives up (returns None, so the caller asks keyring itself) on anything unexpected:
another backend configured for keyring, no session bus, a locked item, a D-Bus error.
It never writes: all writes go through keyring.

The "plain" transfer algorithm is used: the secret crosses the user's own session-bus socket, which
other users cannot open (the same trust keyring places in that bus for everything else).
"""

import os
import sys

SECRETS = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
KEYRING_SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
TIMEOUT = 2.0


def usable() -> bool:
    """Whether keyring would use its Secret Service backend (as far as can be told cheaply)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
    if chosen is not None:
        return chosen == KEYRING_SECRET_SERVICE
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    # keyring's own config file may name another backend; don't second-guess it.
    return not os.path.exists(os.path.join(config_home, "python_keyring", "keyringrc.cfg"))


def read(service: str, usernames: list[str]) -> list[str | None] | None:
    """The secrets stored by keyring for (service, username) each, None for a missing one.

    Returns None as a whole when the fast path cannot answer with certainty.
    """
    if not usable():
        return None
    try:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        return None
    try:
        connection = open_dbus_connection(bus="SESSION")
    except Exception:
        return None
    try:
        def call(path, interface, method, signature=None, body=()):
            address = DBusAddress(path, bus_name=SECRETS, interface=interface)
            message = new_method_call(address, method, signature, body)
            reply = connection.send_and_get_reply(message, timeout=TIMEOUT)
            if reply.header.message_type.value == 3:  # D-Bus error
                raise LookupError(reply.header.fields)
            return reply.body

        found = []
        for username in usernames:
            (paths,) = call(DEFAULT_COLLECTION, "org.freedesktop.Secret.Collection",
                            "SearchItems", "a{ss}", ({"service": service, "username": username},))
            found.append(paths[0] if paths else None)
        wanted = [p for p in found if p]
        if not wanted:
            return [None] * len(usernames)
        for path in wanted:
            ((_, locked),) = call(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                  ("org.freedesktop.Secret.Item", "Locked"))
            if locked:
                return None  # keyring would try to unlock it: let it
        _, session = call(SERVICE_PATH, "org.freedesktop.Secret.Service", "OpenSession", "sv",
                          ("plain", ("s", "")))
        try:
            (secrets,) = call(SERVICE_PATH, "org.freedesktop.Secret.Service", "GetSecrets",
                              "aoo", (wanted, session))
        finally:
            call(session, "org.freedesktop.Secret.Session", "Close")
        out = []
        for path in found:
            if path is None:
                out.append(None)
                continue
            _, parameters, value, _ = secrets[path]
            if parameters:  # an encrypted transfer we did not ask for
                return None
            out.append(bytes(value).decode("utf-8"))
        return out
    except Exception:
        return None
    finally:
        connection.close()
