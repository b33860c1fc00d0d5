"""A real Secret Service for tests: a private dbus-daemon and gnome-keyring-daemon.

The keyring is created and unlocked with a password given on stdin, as on a headless machine. Its
environment (bus address, runtime and data dirs) is what a test hands to the processes under test.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PASSWORD = "test-keyring-password"
SECRETS = "org.freedesktop.secrets"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"


class SecretServiceDaemon:
    def __init__(self, root: Path):
        self.root = root
        self.runtime = root / "run"
        self.data = root / "data"
        self.processes: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}

    def start(self) -> "SecretServiceDaemon":
        for tool in ("dbus-daemon", "gnome-keyring-daemon"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is not installed: run scripts/bootstrap.sh")
        self.runtime.mkdir(parents=True, mode=0o700)
        self.data.mkdir(parents=True)
        socket = self.runtime / "bus"
        address = f"unix:path={socket}"
        bus = subprocess.Popen(["dbus-daemon", "--session", f"--address={address}", "--nofork",
                                "--nopidfile"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(bus)
        _wait(lambda: socket.exists(), "dbus-daemon socket")
        self.env = {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": str(self.runtime),
                    "XDG_DATA_HOME": str(self.data)}
        # Asked over D-Bus too early, gnome-keyring can initialise its Secret Service before the
        # login keyring it is creating exists, and never shows it. So first wait, without asking
        # gnome-keyring anything, for the keyring file and for its bus name; if the default
        # collection still does not appear, start it again over the existing file.
        login = self.data / "keyrings" / "login.keyring"
        for _attempt in range(5):
            keyring = self._start_keyring()
            try:
                _wait(lambda: login.exists() and self._name_owned(), "gnome-keyring start-up")
                _wait(self._default_collection_ready, "gnome-keyring default collection",
                      timeout=3)
                return self
            except RuntimeError:
                keyring.terminate()
                keyring.wait(timeout=10)
                self.processes.remove(keyring)
        raise RuntimeError("gnome-keyring-daemon did not provide an unlocked default keyring")

    def _start_keyring(self) -> subprocess.Popen:
        keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env={**os.environ, **self.env, "HOME": str(self.root)}, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        keyring.stdin.write(PASSWORD.encode())
        keyring.stdin.close()
        self.processes.append(keyring)
        return keyring

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    # -- D-Bus helpers for tests --------------------------------------------------------------

    def _call(self, path, interface, method, signature=None, body=(), timeout: float = 5):
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(self.env["DBUS_SESSION_BUS_ADDRESS"]) as connection:
            address = DBusAddress(path, bus_name=SECRETS, interface=interface)
            reply = connection.send_and_get_reply(new_method_call(address, method, signature,
                                                                  body), timeout=timeout)
            if reply.header.message_type.value == 3:
                raise RuntimeError(f"D-Bus error: {reply.header.fields} {reply.body}")
            return reply.body

    def _name_owned(self) -> bool:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                          interface="org.freedesktop.DBus")
        with open_dbus_connection(self.env["DBUS_SESSION_BUS_ADDRESS"]) as connection:
            reply = connection.send_and_get_reply(
                new_method_call(bus, "NameHasOwner", "s", (SECRETS,)), timeout=5)
            return bool(reply.body[0])

    def _default_collection_ready(self) -> bool:
        try:
            (path,) = self._call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
                                 "ReadAlias", "s", ("default",))
            return path != "/"
        except Exception:
            return False

    def items(self) -> list[dict[str, str]]:
        """Attributes of every item in the default collection."""
        ((_, paths),) = self._call(DEFAULT_COLLECTION, "org.freedesktop.DBus.Properties", "Get",
                                   "ss", ("org.freedesktop.Secret.Collection", "Items"))
        out = []
        for path in paths:
            ((_, attributes),) = self._call(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                            ("org.freedesktop.Secret.Item", "Attributes"))
            out.append(dict(attributes))
        return out

    def wipe(self) -> None:
        """Delete every item of the default collection (between tests).

        gnome-keyring rewrites its file on every delete; on a loaded CI machine one call was seen
        to take over 5 s. A slow or wedged daemon must not fail the next test for a reason that
        has nothing to do with it, so a wipe that times out is tried once more and then the
        daemon is replaced by a fresh one on the same addresses (tests read `env` afresh)."""
        try:
            self._wipe(timeout=20)
        except (TimeoutError, RuntimeError, OSError) as error:
            print(f"secret-service harness: wipe failed ({error!r}); restarting the daemon",
                  file=sys.stderr)
            self.restart()

    def _wipe(self, timeout: float) -> None:
        ((_, paths),) = self._call(DEFAULT_COLLECTION, "org.freedesktop.DBus.Properties", "Get",
                                   "ss", ("org.freedesktop.Secret.Collection", "Items"),
                                   timeout=timeout)
        for path in paths:
            self._call(path, "org.freedesktop.Secret.Item", "Delete", timeout=timeout)

    def restart(self) -> None:
        self.stop()
        shutil.rmtree(self.runtime, ignore_errors=True)
        shutil.rmtree(self.data, ignore_errors=True)
        self.start()

    def lock(self) -> None:
        (collection,) = self._call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
                                   "ReadAlias", "s", ("default",))
        self._call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "Lock", "ao",
                   ([collection],))


def _wait(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)
