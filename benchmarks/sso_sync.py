"""`sso sync` at scale: 1,000 accounts x 3 roles from the Identity Center emulator on loopback
(tests/harness/sso_portal.py, lists in pages of 100), measured in one run against `init` on the
same resulting config (which writes nothing) and a second sync (which adds nothing).

Run: .venv/bin/python benchmarks/sso_sync.py [--accounts N] [--roles R]
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.hot_path import local_world  # noqa: E402
from tests.harness.sso_portal import SsoPortal  # noqa: E402
from tests.harness.world import HELPER  # noqa: E402

TOML = """\
[defaults]
region = "eu-west-1"

[sso-sessions.corp]
sso_start_url = "https://corp.awsapps.com/start"
sso_region = "eu-west-1"
"""


def timed(argv: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600,
                            stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed: {result.stderr.strip()}")
    return elapsed, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--roles", type=int, default=3)
    args = parser.parse_args()
    with local_world() as world:
        portal = SsoPortal(world.sts)
        try:
            portal.assignments = {
                f"{100000000000 + i}": (f"team-{i:04d}",
                                        [f"Role{r}" for r in range(args.roles)])
                for i in range(args.accounts)}
            portal.page_limit = 100
            env = {**world.env, "AWS_ENDPOINT_URL_SSO": portal.url,
                   "AWS_ENDPOINT_URL_SSO_OIDC": portal.url}
            world.write_toml(TOML)
            world.aws_config.write_text("")
            portal.log_in(world.home, "corp")
            first, out = timed([str(HELPER), "sso", "sync", "--sso-session", "corp"], env)
            listed = len([r for r in portal.requests if r["action"] == "ListAccountRoles"])
            again, _ = timed([str(HELPER), "sso", "sync", "--sso-session", "corp"], env)
            init, _ = timed([str(HELPER), "init"], env)
        finally:
            portal.stop()
    roles = args.accounts * args.roles
    print(f"sso sync, {args.accounts} accounts x {args.roles} roles "
          f"({listed} ListAccountRoles calls, pages of 100)")
    print(out.strip().splitlines()[0])
    print(f"{'first sync (adds every profile, writes the AWS config)':58} {first:7.2f} s")
    print(f"{'second sync (nothing to add)':58} {again:7.2f} s")
    print(f"{'init on the same config (nothing to write)':58} {init:7.2f} s")
    print(f"\nfirst sync / init                         {first / init:6.2f}x")
    print(f"second sync / init                        {again / init:6.2f}x")
    print(f"per role, first sync                      {first / roles * 1000:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
