"""A real `xaccount-credproc serve` for tests: started as a user would start it, in a world's
environment with a runtime dir of its own; its log kept for the secret scan."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.harness.world import CAPTURED_STDERR, HELPER


class CredServer:
    def __init__(self, world, *args: str, env: dict | None = None):
        self.world = world
        self.args = args
        self.runtime = world.root / "run"
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self.env = {**world.env, "XDG_RUNTIME_DIR": str(self.runtime), **(env or {})}
        self.log_path = world.root / f"server-{len(list(world.root.glob('server-*.log')))}.log"
        self.process = None
        self.info = None

    @property
    def state_file(self) -> Path:
        return self.runtime / "xaccount-credproc" / "server" / "server.json"

    def start(self, timeout: float = 20) -> "CredServer":
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([str(HELPER), "serve", *self.args], env=self.env,
                                        stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited {self.process.returncode}: {self.log()}")
            try:
                info = json.loads(self.state_file.read_text())
                if info["pid"] == self.process.pid:
                    self.info = info
                    return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"serve did not start: {self.log()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.info['port']}"

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def logged(self, text: str, within: float = 10) -> list[str]:
        """The log's lines that contain `text`, once there is one (the server logs a request
        after answering it, and a renewal after storing it): a bounded wait."""
        deadline = time.monotonic() + within
        while not (lines := [line for line in self.log().splitlines() if text in line]):
            assert time.monotonic() < deadline, f"no {text!r} logged in {within:.0f}s:\n{self.log()}"
            time.sleep(0.05)
        return lines

    def stop(self, sig=signal.SIGTERM) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        CAPTURED_STDERR.append(self.log())
        return self.process.returncode

    def run(self, *args: str, env: dict | None = None, **kwargs):
        """The helper in this server's environment (same runtime dir)."""
        return self.world.run(*args, env={"XDG_RUNTIME_DIR": str(self.runtime), **(env or {})},
                              **kwargs)

    def client_env(self, profile: str, *extra: str) -> dict[str, str]:
        """server-env --format json for `profile`."""
        result = self.run("server-env", "--profile", profile, "--format", "json", *extra)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def get(url: str, headers: dict | None = None, timeout: float = 10):
    """(status, JSON body) of a GET."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get_served(url: str, headers: dict, within: float = 20):
    """GET until it is not 503 CredentialsPending (a cold fetch under load), as SDKs retry."""
    deadline = time.monotonic() + within
    while True:
        status, body = get(url, headers)
        if status != 503 or body.get("code") != "CredentialsPending" \
                or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def raw(port: int, data: bytes, host: str = "127.0.0.1", timeout: float = 10) -> bytes:
    """What the server answers to `data` sent as is."""
    import socket

    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in b"".join(chunks):
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    return b"".join(chunks)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
