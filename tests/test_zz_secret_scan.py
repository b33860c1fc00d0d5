"""Runs last (files run in name order): after the whole suite, no secret may be found in any file
under any test HOME (the cache dir included), in the keyring daemon's files, or in any stderr that
a test captured from the helper or the aws CLI."""

import json

from tests.harness.otp import appears
from tests.harness.world import (
    ALICE_SECRET,
    ALL_WORLDS,
    CAPTURED_STDERR,
    EXTRA_SECRETS,
    MFA_CODE,
)


def test_no_secret_in_any_file_or_stderr(world, secret_service_daemon):
    # Some activity of our own, so this test means something when run alone.
    world.standard()
    world.use_mfa_process()
    for _ in range(2):
        result = world.run("credential-process", "--profile", "prod-read-only", "--debug")
        assert result.returncode == 0, result.stderr
    issued = world.sts.issued_secrets()
    assert json.loads(result.stdout)["SecretAccessKey"] in issued
    assert len(issued) >= 4  # the MFA session's and the role's secret key and token

    secrets = [*issued, ALICE_SECRET, *EXTRA_SECRETS]
    codes = [*world.sts.codes_seen(), MFA_CODE]  # every code STS accepted in the session
    assert codes[:-1]
    scanned_files = 0
    roots = [w.home for w in ALL_WORLDS] + [secret_service_daemon.root]
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            scanned_files += 1
            for secret in secrets:
                if secret == ALICE_SECRET and path.name == "credentials":
                    continue  # the test wrote alice's key there itself
                assert secret.encode() not in data, f"a secret is in {path}"
            for code in codes:
                assert not appears(code, data), f"an MFA code is in {path}"
    assert scanned_files > 0
    assert len(CAPTURED_STDERR) > 0
    for stderr in CAPTURED_STDERR:
        for secret in secrets:
            assert secret not in stderr, stderr
        for code in codes:
            assert not appears(code, stderr), stderr
