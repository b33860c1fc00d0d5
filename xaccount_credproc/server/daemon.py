"""`serve`: the listeners, the refresher, signals and `server.json`.

SIGTERM and SIGINT stop it cleanly (server.json removed); SIGHUP reads the config again (so does
a change of the config's files, seen within a second); a profile that fails to resolve fails
alone. The loopback port is the last one used when free, so URIs handed out keep working across
restarts; tokens live in the runtime dir until logout or reboot.
"""

import asyncio
import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
import time

from ..errors import ConfigError, UserError
from . import CONTAINER_ADDRESS, state
from .http import Listener, Service, serve_on
from .supply import Supply

LOOPBACK = "127.0.0.1"
IP_FREEBIND = 15  # Linux: bind an address the host does not have yet (a bridge made later)


def log_line(text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} {text}", file=sys.stderr, flush=True)


def container_address(text: str) -> tuple[str, int]:
    """ADDR[:PORT] for --container-listen: only the ECS link-local network 169.254.170.0/24
    (never a private range, never a public address). Raises ConfigError."""
    host, _, port = text.partition(":")
    try:
        address = ipaddress.IPv4Address(host)
        number = int(port) if port else 80
    except ValueError:
        raise ConfigError(f"--container-listen {text!r} is not an IPv4 ADDRESS[:PORT]",
                          f"use --container-listen {CONTAINER_ADDRESS}") from None
    if address not in ipaddress.IPv4Network("169.254.170.0/24"):
        raise ConfigError(f"--container-listen {host} is outside 169.254.170.0/24, the only "
                          "network the container credentials protocol uses",
                          f"use --container-listen {CONTAINER_ADDRESS}")
    if not 0 < number < 65536:
        raise ConfigError(f"--container-listen port {number} is not a port number",
                          "use a number from 1 to 65535 (80 for RELATIVE_URI)")
    return str(address), number


def _bind(address: str, port: int, freebind: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if freebind and sys.platform.startswith("linux"):
            sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
        return sock
    except OSError as e:
        sock.close()
        where = f"{address}:{port}"
        if e.errno == errno.EADDRINUSE:
            raise UserError(f"cannot listen on {where}: the port is in use",
                            "stop what uses it, or choose another with --port") from None
        if e.errno == errno.EACCES:
            raise UserError(f"cannot listen on {where}: ports below 1024 need privileges",
                            "see 'xaccount-credproc container-setup' for the one-time step") \
                from None
        raise UserError(f"cannot listen on {where}: {e.strerror}",
                        "check the address") from None


def _prewarm() -> None:
    import contextlib

    with contextlib.suppress(Exception):
        import boto3  # noqa: F401
        import botocore.exceptions  # noqa: F401

        from ..credentials import source_session  # noqa: F401


class Server:
    """The listeners and the refresher around one `Supply`."""

    def __init__(self, config_path: str, port: int | None = None,
                 container: tuple[str, int] | None = None, saved_clients: bool = True,
                 log=log_line):
        self.config_path = os.path.abspath(config_path)
        self.log = log
        self.supply = Supply(self.config_path, log)
        self.registry = state.Registry(saved=saved_clients)
        self.service = Service(self.supply, self.registry, log)
        self.listeners: list[tuple[Listener, socket.socket]] = []
        self._open(port, container)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None

    def _open(self, port: int | None, container: tuple[str, int] | None) -> None:
        if port is None:
            last = state.read_running(check_alive=False) or {}
            port = last.get("port", 0) if last.get("address") == LOOPBACK else 0
            try:
                sock = _bind(LOOPBACK, port)
            except UserError:
                sock = _bind(LOOPBACK, 0)
        else:
            sock = _bind(LOOPBACK, port)
        self.listeners.append((Listener(LOOPBACK, sock.getsockname()[1], "loopback"), sock))
        if container is not None:
            address, container_port = container
            sock = _bind(address, container_port, freebind=True)
            self.listeners.append((Listener(address, container_port, "container"), sock))

    @property
    def port(self) -> int:
        return self.listeners[0][0].port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def info(self) -> dict:
        container = [f"{li.address}:{li.port}" for li, _ in self.listeners
                     if li.kind == "container"]
        return {"pid": os.getpid(), "address": LOOPBACK, "port": self.port,
                "container": container[0] if container else None, "config": self.config_path,
                "started": int(time.time())}

    async def _main(self, ready=None) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        servers = [await serve_on(self.service, listener, sock)
                   for listener, sock in self.listeners]
        refresher = asyncio.create_task(self._refresher())
        # The first fetch would import boto3 (half a second cold): done now, beside the
        # listener, so that a first MFA prompt is announced within a second.
        threading.Thread(target=_prewarm, daemon=True, name="prewarm").start()
        if ready is not None:
            ready.set()
        try:
            await self._stopped.wait()
        finally:
            refresher.cancel()
            for server in servers:
                server.close()

    async def _refresher(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                if self.supply.config_changed():
                    self.supply.reload()
                self.supply.tick()
            except Exception as e:  # the refresher must outlive any one mistake
                self.log(f"refresher: {type(e).__name__}")

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

    # -- as the `serve` command ----------------------------------------------------------------

    def run_forever(self) -> None:
        """Serve until SIGTERM or SIGINT; SIGHUP reloads the config."""
        async def main():
            loop = asyncio.get_running_loop()
            for number in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(number, self._stop_by_signal, number)
            loop.add_signal_handler(signal.SIGHUP, self._reload_by_signal)
            await self._main()

        state.write_running(self.info())
        for listener, _ in self.listeners:
            self.log(f"listening on http://{listener.address}:{listener.port} ({listener.kind})")
        self.log(f"serving {len(self.supply.names())} profiles of {self.config_path}")
        try:
            asyncio.run(main())
        finally:
            state.clear_running(os.getpid())
            self.log("stopped")

    def _stop_by_signal(self, number) -> None:
        self.log(f"{signal.Signals(number).name}: stopping")
        if self._stopped is not None:
            self._stopped.set()

    def _reload_by_signal(self) -> None:
        self.log("SIGHUP: reloading the config")
        self.supply.reload()

    # -- inside another command (`exec --server`) ----------------------------------------------

    def start_in_thread(self) -> None:
        ready = threading.Event()
        thread = threading.Thread(target=lambda: asyncio.run(self._main(ready)), daemon=True,
                                  name="credential server")
        thread.start()
        if not ready.wait(10):
            raise UserError("the credential server did not start within 10 s",
                            "rerun with --debug")
