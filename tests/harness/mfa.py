"""MFA as the tests count it: an mfa_process that counts its runs, and many cold `aws`
commands at once (one prompt, one STS call is what they check)."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def counting_mfa(world) -> Path:
    """An mfa_process that counts how often it is consulted."""
    counter = world.root / "mfa-asked"
    world.write_toml(world.toml.read_text().replace(
        "[defaults]\n", f'[defaults]\nmfa_process = "{world.mfa_process_command(counter)}"\n'))
    return counter


def times_asked(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def parallel_cold_aws_calls(world, count: int = 32) -> None:
    """`count` real `aws` commands at once against a cold cache, the first fetch held in flight
    for a second so that the others arrive while it runs; each must get the role."""
    world.sts.delay = 1.0

    def call(_):
        return world.aws("sts", "get-caller-identity", "--profile", "prod-read-only",
                         timeout=300)

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(call, range(count)))
    world.sts.delay = 0
    for result in results:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["Arn"].endswith(":assumed-role/DevReadOnly-CrossAccount/alice")
