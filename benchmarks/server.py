"""Warm-request latency of the credential server (`serve`), measured in one run on this machine.

    .venv/bin/python benchmarks/server.py [--requests N] [--runs N] [--no-peer]

Everything runs on loopback: the recording STS emulator, a private D-Bus with gnome-keyring, the
installed console script and the real `aws` CLI. One load generator (asyncio, a new connection
per request, as SDKs fetch) measures, in the same run:

* the floor: a bare `http.server` answering a fixed JSON document;
* `serve`, warm: a real client token, the Host check, the profile's credentials from memory;
* the peer aws-export-credentials `--container` (PyPI, its own venv under benchmarks/.peer-venv),
  when it installs;

each with 1 client (sequential requests) and 100 concurrent clients; then `aws sts
get-caller-identity` through the server, through credential_process, and with static keys.
A warm request must make no STS call, start no process and read no keyring: the emulator's
count and the server's log are checked after the run.
"""

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.hot_path import local_world, measure, peer_executable, run_ok  # noqa: E402
from tests.harness.cred_server import CredServer  # noqa: E402
from tests.harness.world import HELPER  # noqa: E402

TARGET = 1.2  # warm p50 / floor p50
FLOOR = """
import http.server, sys
BODY = (b'{"AccessKeyId": "ASIAFLOOR0000000TEST", "SecretAccessKey": "x", "Token": "y", '
        b'"Expiration": "2099-01-01T00:00:00Z"}')
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
http.server.HTTPServer.request_queue_size = 128  # as ours: 100 clients connect at once
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


async def one_request(port: int, path: str, headers: dict) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
                 "Connection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    elapsed = (time.perf_counter() - started) * 1000
    if not data.startswith(b"HTTP/1.") or b" 200 " not in data.split(b"\r\n", 1)[0]:
        raise SystemExit(f"port {port} answered: {data[:200]!r}")
    return elapsed


async def load(port: int, path: str, headers: dict, clients: int, requests: int) -> list[float]:
    times: list[float] = []

    async def client(count):
        for _ in range(count):
            times.append(await one_request(port, path, headers))

    await asyncio.gather(*(client(requests // clients) for _ in range(clients)))
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=10, help="runs of each aws command")
    parser.add_argument("--no-peer", action="store_true", help="skip aws-export-credentials")
    args = parser.parse_args()

    processes = []
    server = None
    with local_world() as world:
        sts = world.sts
        try:
            world.aws_config.write_text("")
            run_ok([str(HELPER), "init"], world.env)
            world.aws_config.write_text(world.aws_config.read_text()
                                        + "[profile dev]\nregion = eu-west-1\n")
            server = CredServer(world).start()
            client = server.client_env("prod-read-only")
            url = client["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
            ours = (server.info["port"], url.split(str(server.info["port"]), 1)[1],
                    {"Authorization": client["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
            floor = subprocess.Popen([sys.executable, "-c", FLOOR], stdout=subprocess.PIPE,
                                     text=True)
            processes.append(floor)
            targets = {"bare http.server (floor)": (int(floor.stdout.readline()), "/", {}),
                       "xaccount-credproc serve": ours}
            if not args.no_peer:
                peer = peer_executable()
                if peer is None:
                    print("aws-export-credentials could not be installed; skipping the peer")
                else:
                    token = "peer-token-0123456789"
                    import socket

                    with socket.socket() as s:
                        s.bind(("127.0.0.1", 0))
                        peer_port = s.getsockname()[1]
                    process = subprocess.Popen([str(peer), "--profile", "dev", "--container",
                                                f"127.0.0.1:{peer_port}", token], env=world.env,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    processes.append(process)
                    targets["aws-export-credentials --container"] = (
                        peer_port, "/", {"Authorization": token})
            deadline = time.monotonic() + 30
            for name, (port, path, headers) in targets.items():  # warm each, wait for the peer
                while True:
                    try:
                        asyncio.run(load(port, path, headers, 1, 5))
                        break
                    except (OSError, SystemExit):
                        if time.monotonic() > deadline:
                            raise SystemExit(f"{name} did not come up") from None
                        time.sleep(0.2)
            calls_before = len(sts.calls_of("AssumeRole"))
            log_before = server.log()

            results: dict[tuple[str, int], list[float]] = {}
            failed: dict[tuple[str, int], str] = {}
            for clients in (1, 100):
                for _round in range(3):  # interleaved, so noise hits all alike
                    for name, (port, path, headers) in targets.items():
                        if (name, clients) in failed:
                            continue
                        try:
                            times = asyncio.run(load(port, path, headers, clients,
                                                     args.requests // 3))
                        except OSError as e:
                            if name.startswith("xaccount"):
                                raise SystemExit(f"{name}, {clients} clients: {e}") from None
                            failed[(name, clients)] = e.strerror or type(e).__name__
                            continue
                        results.setdefault((name, clients), []).extend(times)

            aws = str(shutil.which("aws", path=world.env["PATH"]))
            served_env = {**world.env, **client}
            commands = {"aws sts get-caller-identity, static keys":
                        [aws, "sts", "get-caller-identity", "--profile", "dev"],
                        "aws sts get-caller-identity, credential_process":
                        [aws, "sts", "get-caller-identity", "--profile", "prod-read-only"],
                        "aws sts get-caller-identity, server":
                        [aws, "sts", "get-caller-identity"]}
            times = measure(commands, world.env, args.runs,
                            {"aws sts get-caller-identity, server": served_env})
            assert len(sts.calls_of("AssumeRole")) == calls_before, "a measured request called STS"
            new_log = server.log()[len(log_before):]
            assert "fetched" not in new_log and "renewed" not in new_log, "a request was not warm"
        finally:
            if server is not None:
                server.stop()
            for process in processes:
                process.kill()

    print(f"credential server, warm requests (new connection each), {args.requests} per row, "
          f"Python {sys.version.split()[0]}")
    print(f"{'server':40} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for (name, clients), values in results.items():
        print(f"{name:40} {clients:7d} {statistics.median(values):8.3f} "
              f"{percentile(values, 0.99):8.3f}")
    for (name, clients), why in failed.items():
        print(f"{name:40} {clients:7d}   failed: {why}")
    print()
    print(f"{'command':50} {'median ms':>10} {'min ms':>8}")
    for name, values in times.items():
        print(f"{name:50} {statistics.median(values):10.1f} {min(values):8.1f}")
    print()
    met = True
    for clients in (1, 100):
        floor_p50 = statistics.median(results[("bare http.server (floor)", clients)])
        for name in targets:
            if name.startswith("bare") or (name, clients) not in results:
                continue
            ratio = statistics.median(results[(name, clients)]) / floor_p50
            note = f"target <= {TARGET:g}" if name.startswith("xaccount") else "peer"
            print(f"{name + ' p50 / floor p50, ' + str(clients) + ' client(s)':66} "
                  f"{ratio:6.2f}x  ({note})")
            if name.startswith("xaccount"):
                met = met and ratio <= TARGET
    static = statistics.median(times["aws sts get-caller-identity, static keys"])
    for name in ("server", "credential_process"):
        ratio = statistics.median(times[f"aws sts get-caller-identity, {name}"]) / static
        print(f"{'aws CLI via ' + name + ' / static keys':66} {ratio:6.2f}x  (end to end)")
    print("\ntargets met" if met else "\ntargets NOT met")
    print(json.dumps({"met": met}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
