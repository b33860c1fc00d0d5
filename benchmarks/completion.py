"""The time of one Tab, measured in one run on this machine.

    .venv/bin/python benchmarks/completion.py [--runs N]

A Tab in bash (or zsh, fish) runs the helper with argcomplete's variables set, its output on
file descriptor 8, exactly as the script `xaccount-credproc completion bash` does it. Measured,
interleaved, N times each: a command name (`xaccount-credproc ser<Tab>`), a profile name from a
100-profile TOML (`console --profile <Tab>`), and `python -c pass` in the same venv as the floor.
The target is under 150 ms per Tab; the credential-process hot path is measured by
benchmarks/hot_path.py and does not load any of this.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPER = Path(sys.executable).parent / "xaccount-credproc"
TARGET_MS = 150.0


def tab_env(home: Path, line: str) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\013",
            "_ARGCOMPLETE_SHELL": "bash", "COMP_LINE": line, "COMP_POINT": str(len(line)),
            "COMP_TYPE": "9"}


def one(argv: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    read, write = os.pipe()
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               close_fds=False,  # fd 8 survives the exec
                               preexec_fn=lambda: os.dup2(write, 8))
    os.close(write)
    out = b""
    while chunk := os.read(read, 65536):
        out += chunk
    process.wait(timeout=60)  # the pipe closed: it has finished, or is about to
    os.close(read)
    return (time.perf_counter() - started) * 1000, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        config = home / ".config" / "xaccount-credproc"
        config.mkdir(parents=True)
        config.joinpath("config.toml").write_text('[defaults]\nsource_profile = "dev"\n' + "".join(
            f'\n[profiles.team-{i:03d}]\nrole_arn = "arn:aws:iam::{100000000000 + i}:role/R"\n'
            for i in range(100)))
        cases = {
            "python -c pass (floor)": ([sys.executable, "-c", "pass"], dict(os.environ)),
            "Tab: a command (ser<Tab>)": ([str(HELPER)], tab_env(home, "xaccount-credproc ser")),
            "Tab: a profile, 100 in the TOML": (
                [str(HELPER)], tab_env(home, "xaccount-credproc console --profile team-09")),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (argv, env) in cases.items():
                elapsed, out = one(argv, env)
                times[name].append(elapsed)
                if name.startswith("Tab: a profile") and b"team-099" not in out:
                    raise SystemExit(f"the Tab offered {out[:200]!r}")
    print(f"one Tab, {args.runs} runs each, interleaved (Python {sys.version.split()[0]})")
    print(f"{'what':40} {'median ms':>10} {'min ms':>8}")
    for name, values in times.items():
        print(f"{name:40} {statistics.median(values):10.1f} {min(values):8.1f}")
    floor = statistics.median(times["python -c pass (floor)"])
    worst = max(statistics.median(v) for n, v in times.items() if n.startswith("Tab"))
    print(f"\nslowest Tab / bare interpreter: {worst / floor:.1f}x; slowest Tab {worst:.0f} ms "
          f"(target < {TARGET_MS:g} ms): {'met' if worst < TARGET_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
