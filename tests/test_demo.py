"""The README's first command keeps working: the demo runs the main job and succeeds."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_main_job():
    result = subprocess.run([sys.executable, "-m", "tests.harness.demo"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "arn:aws:sts::222222222222:assumed-role/DevReadOnly-CrossAccount/alice" in result.stdout
    assert "arn:aws:sts::333333333333:assumed-role/Admin/alice" in result.stdout
    assert '"ExternalId": "DeveloperAccess"' in result.stdout
    assert "added 3 (prod-read-only, shared-audit, staging-admin)" in result.stdout
    assert result.stdout.count("GetSessionToken -> HTTP 200") == 1
    assert result.stdout.count("AssumeRole -> HTTP 200") == 2  # the third call hit the cache
    assert "HTTP 4" not in result.stdout  # nothing AWS would refuse was sent
    # staging-admin (2 h): its own code, on an AssumeRole signed by alice's long-term keys.
    (admin,) = [line for line in result.stdout.splitlines() if "role/Admin" in line
                and "AssumeRole ->" in line]
    assert "signed with alice's keys" in admin and '"DurationSeconds": "7200"' in admin
    assert '"TokenCode": "<6 digits>"' in admin
    assert "prod-read-only  arn:aws:iam::222222222222:role/DevReadOnly-CrossAccount  yes" in (
        result.stdout)
    assert not re.search(r'"TokenCode": "\d', result.stdout)  # codes only as "<6 digits>"
