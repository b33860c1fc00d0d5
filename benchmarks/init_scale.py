"""`init` at the scale of an AWS Organization, measured in one run on this machine.

    .venv/bin/python benchmarks/init_scale.py [--runs N] [--profiles N]

* `xaccount-credproc init` writing N (default 1000) stanzas into an AWS config that has none, and
  again when all are up to date (median of the runs; the target is under 2 s);
* the `aws` CLI's own start-up with the written config: `aws configure get region --profile X`
  (it reads the whole config but, unlike `aws configure list`, resolves no credentials, so the
  helper is not run) with 1 stanza, N managed stanzas, and N botocore-native assume-role stanzas
  (what botocore pays to parse N profiles of any kind), interleaved.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HELPER = BIN / "xaccount-credproc"
AWS = BIN / "aws"


def toml(count: int) -> str:
    head = ('[defaults]\nsource_profile = "dev"\nregion = "eu-west-1"\n'
            'mfa_serial = "arn:aws:iam::111111111111:mfa/alice"\n')
    return head + "".join(f'\n[profiles.acct-{i:04d}-readonly]\naccount_id = '
                          f'"{100000000000 + i}"\nrole_name = "ReadOnly"\n'
                          for i in range(count))


def timed(argv, env) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise SystemExit(f"{argv[1]} failed: {result.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--profiles", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xaccount-credproc-init-"))
    try:
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8",
               "AWS_EC2_METADATA_DISABLED": "true"}
        configs = {}
        for count in (1, args.profiles):
            directory = work / str(count)
            directory.mkdir()
            (directory / "config.toml").write_text(toml(count))
            configs[count] = {**env, "XACCOUNT_CREDPROC_CONFIG": str(directory / "config.toml"),
                              "AWS_CONFIG_FILE": str(directory / "aws-config")}
        big = configs[args.profiles]
        cold, warm = [], []
        for _ in range(args.runs):
            Path(big["AWS_CONFIG_FILE"]).write_text("[default]\nregion = us-east-1\n")
            cold.append(timed([str(HELPER), "init"], big))
            warm.append(timed([str(HELPER), "init"], big))
        timed([str(HELPER), "init"], configs[1])
        # The same profiles written the botocore-native way (role_arn + source_profile), which
        # bypasses any helper: what botocore pays for 1000 profiles of any kind.
        native = work / "native-config"
        native.write_text("".join(
            f"[profile acct-{i:04d}-readonly]\nrole_arn = arn:aws:iam::{100000000000 + i}:role/"
            "ReadOnly\nsource_profile = dev\nregion = eu-west-1\n\n"
            for i in range(args.profiles)))
        configs["native"] = {**env, "AWS_CONFIG_FILE": str(native)}
        aws = {1: [], args.profiles: [], "native": []}
        last = f"acct-{args.profiles - 1:04d}-readonly"
        for _ in range(args.runs):
            for count, profile in ((1, "acct-0000-readonly"), (args.profiles, last),
                                   ("native", last)):
                aws[count].append(timed([str(AWS), "configure", "get", "region", "--profile",
                                         profile], configs[count]))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.profiles
    print(f"init scale, {args.runs} runs each (Python {sys.version.split()[0]})")
    print(f"{'what':55} {'median ms':>10} {'min ms':>8}")
    rows = [(f"init, {n} profiles into an unmanaged config", cold),
            (f"init, {n} profiles already up to date", warm),
            ("aws configure get region, 1 stanza", aws[1]),
            (f"aws configure get region, {n} managed stanzas", aws[n]),
            (f"aws configure get region, {n} native role_arn stanzas", aws["native"])]
    for label, values in rows:
        print(f"{label:55} {statistics.median(values):10.1f} {min(values):8.1f}")
    ratio = statistics.median(aws[n]) / statistics.median(aws[1])
    native_ratio = statistics.median(aws[n]) / statistics.median(aws["native"])
    print(f"\naws CLI start-up, {n} managed stanzas / 1 stanza: {ratio:.2f}x")
    print(f"aws CLI start-up, {n} managed stanzas / {n} native stanzas: {native_ratio:.2f}x")
    met = statistics.median(cold) < 2000
    print("init under 2 s: " + ("yes" if met else "NO"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
