"""Cache-hit latency of `xaccount-credproc credential-process`, measured in one run on this machine.

    .venv/bin/python benchmarks/hot_path.py [--runs N] [--no-peer]

Everything runs on loopback: the recording STS emulator, a private D-Bus with gnome-keyring (the
real Secret Service), the installed console script and the real `aws` CLI. Each command runs N
times, interleaved with the others so that machine noise hits all of them alike; the figures are
medians (and minimums) of wall-clock time per process, and the ratios are taken within this run:

* bare interpreter start (`python -c pass`, same venv, and `python -S -c pass`, the honest
  floor for the fast start, which runs without `site`) vs a cache hit, with a 1-profile and a
  1000-profile config, from the Secret Service, run as `init` writes it into ~/.aws/config (the
  fast start, `python -S .../__main__.py`), and once through the console script (with `site`);
* the same hit from the Linux kernel keyring (the same world without a session bus, as over SSH
  or in WSL2);
* a cache hit of aws-export-credentials (PyPI; `--credentials-process --cache-file`), installed in
  its own venv under benchmarks/.peer-venv with a pinned boto3/botocore it works with;
* `aws sts get-caller-identity` through the helper vs the same call with static keys.
"""

import argparse
import contextlib
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness.keyring_daemon import SecretServiceDaemon  # noqa: E402
from tests.harness.sts_emulator import StsEmulator  # noqa: E402
from tests.harness.world import HELPER, ROLE_ARN, World  # noqa: E402

PEER = "aws-export-credentials==0.18.0"
# 0.18.0 unpacks botocore's ReadOnlyCredentials into a 4-field tuple; botocore 1.35 added a fifth.
PEER_PINS = ["boto3==1.34.162", "botocore==1.34.162"]
PEER_VENV = ROOT / "benchmarks" / ".peer-venv"
TARGET = 4.0  # a cache hit may cost at most this many bare interpreter starts
KERNEL_TARGET = 1.3  # a kernel-keyring hit: two system calls, no D-Bus


def peer_executable() -> Path | None:
    exe = PEER_VENV / "bin" / "aws-export-credentials"
    if not exe.exists():
        print(f"installing {PEER} into {PEER_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
        pip = [str(PEER_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
               "--disable-pip-version-check"]
        if subprocess.run([*pip, PEER, *PEER_PINS], check=False).returncode != 0:
            return None
    return exe


def run_ok(argv: list[str], env: dict) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}")


def big_config(path: Path, base: str, count: int) -> None:
    extra = "".join(f'\n[profiles.team-{i:04d}]\naccount_id = "{100000000000 + i}"\n'
                    f'role_name = "Role{i}"\n' for i in range(count - 1))
    path.write_text(base + extra)


def measure(commands: dict[str, list[str]], env: dict, runs: int,
            envs: dict[str, dict] | None = None) -> dict[str, list[float]]:
    """Wall-clock milliseconds per run of each command (`envs` may give one its own env)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            result = subprocess.run(argv, env=(envs or {}).get(name, env),
                                    stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    check=False)
            times[name].append((time.perf_counter() - started) * 1000)
            if result.returncode != 0:
                raise SystemExit(f"{name} failed: {result.stderr.decode().strip()}")
    return times


@contextlib.contextmanager
def local_world():
    """Alice's world (MFA by mfa_process) against the STS emulator and a private gnome-keyring,
    all on loopback, in a temp dir that goes afterwards (benchmarks/server.py uses it too)."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="xaccount-credproc-bench-"))
    sts = StsEmulator()
    sts.start()
    keyring = SecretServiceDaemon(workdir / "secret-service").start()
    try:
        world = World(workdir / "world", sts, keyring)
        world.standard()
        world.use_mfa_process()
        yield world
    finally:
        keyring.stop()
        sts.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-peer", action="store_true", help="skip aws-export-credentials")
    args = parser.parse_args()

    with local_world() as world:
        sts = world.sts
        small = world.toml
        large = world.root / "large.toml"
        big_config(large, small.read_text(), 1000)
        world.write_credentials()
        # The stanza as `init` writes it: the fast start.
        world.aws_config.write_text("")
        run_ok([str(HELPER), "init"], world.env)
        world.aws_config.write_text(
            world.aws_config.read_text()
            + "[profile dev]\nregion = eu-west-1\n")
        fast = shlex.split(world.aws_config.read_text().split("credential_process = ")[1]
                           .splitlines()[0])[:-3]  # without "credential-process --profile X"
        profile = ["credential-process", "--profile", "prod-read-only"]
        hit_small = [*fast, *profile, "--config", str(small)]
        hit_large = [*fast, *profile, "--config", str(large)]
        hit_console_script = [str(HELPER), *profile, "--config", str(small)]
        # Fill the cache, then let the resolved-profile snapshots be written (files must be
        # older than their 2-second racy window).
        for argv in (hit_small, hit_large):
            run_ok(argv, world.env)
        time.sleep(2.2)
        for argv in (hit_small, hit_large):
            run_ok(argv, world.env)
        assert len(sts.calls_of("AssumeRole")) == 1, "the cache did not serve the hits"
        # The same profile with no session bus: the kernel keyring (filled by one more fetch).
        kernel_env = {k: v for k, v in world.env.items() if not k.startswith("DBUS")}
        run_ok(hit_small, kernel_env)
        assert len(sts.calls_of("AssumeRole")) == 2, "the kernel keyring was not filled"
        run_ok(hit_small, kernel_env)
        assert len(sts.calls_of("AssumeRole")) == 2, "the kernel keyring did not serve the hit"

        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            # The honest floor for the line `init` writes, which runs `python -S`.
            "python -S -c pass": [sys.executable, "-S", "-c", "pass"],
            "cache hit, 1 profile": hit_small,
            "cache hit, 1000 profiles": hit_large,
            "cache hit, kernel keyring": hit_small,
            "cache hit, via the console script": hit_console_script,
        }
        envs = {"cache hit, kernel keyring": kernel_env}
        if not args.no_peer:
            peer = peer_executable()
            if peer is None:
                print("aws-export-credentials could not be installed; skipping the peer")
            else:
                cache_file = world.root / "aec-cache.json"
                peer_argv = [str(peer), "--profile", "prod-read-only", "--json",
                             "--cache-file", str(cache_file)]
                run_ok(peer_argv, world.env)
                commands["aws-export-credentials cache hit"] = peer_argv
        aws = str(shutil.which("aws", path=world.env["PATH"]))
        commands["aws sts get-caller-identity, static keys"] = [
            aws, "sts", "get-caller-identity", "--profile", "dev"]
        commands["aws sts get-caller-identity, via helper"] = [
            aws, "sts", "get-caller-identity", "--profile", "prod-read-only"]
        times = measure(commands, world.env, args.runs, envs)
        assert len(sts.calls_of("AssumeRole")) == 2, "a measured run called STS"
        run_ok([str(HELPER), "--config", str(small), "clear", "--all"], kernel_env)

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"xaccount-credproc hot path, {args.runs} runs each, interleaved "
          f"(Python {sys.version.split()[0]}, real Secret Service, role {ROLE_ARN})")
    print(f"{'command':45} {'median ms':>10} {'min ms':>8}")
    for name, values in times.items():
        print(f"{name:45} {median[name]:10.1f} {min(values):8.1f}")
    print()
    bare = median["python -c pass"]
    hit = median["cache hit, 1 profile"]
    ratios = [
        ("cache hit / bare interpreter start", hit / bare, f"target <= {TARGET:g}"),
        ("cache hit 1000 profiles / 1 profile", median["cache hit, 1000 profiles"] / hit,
         "target <= 1.2"),
        ("kernel keyring hit / bare interpreter start",
         median["cache hit, kernel keyring"] / bare, f"target <= {KERNEL_TARGET:g}"),
        ("cache hit / python -S -c pass", hit / median["python -S -c pass"],
         "the same floor as the fast start"),
        ("kernel keyring hit / python -S -c pass",
         median["cache hit, kernel keyring"] / median["python -S -c pass"],
         "the same floor as the fast start"),
    ]
    if "aws-export-credentials cache hit" in median:
        ratios.append(("aws-export-credentials hit / our hit",
                       median["aws-export-credentials cache hit"] / hit, "peer, higher is better"))
    ratios.append(("aws CLI via helper / aws CLI static keys",
                   median["aws sts get-caller-identity, via helper"]
                   / median["aws sts get-caller-identity, static keys"], "end to end"))
    for name, value, note in ratios:
        print(f"{name:45} {value:10.2f}x  ({note})")
    met = (hit / bare <= TARGET and median["cache hit, 1000 profiles"] / hit <= 1.2
           and median["cache hit, kernel keyring"] / bare <= KERNEL_TARGET)
    print("\ntargets met" if met else "\ntargets NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
