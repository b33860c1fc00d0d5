"""The secret scan itself (run over the whole session by conftest.py): it finds what it must,
and a world's own activity leaves nothing for it to find."""

import json

from tests.harness.secret_scan import evidence, leaks


def test_activity_leaves_no_secret_and_the_scan_sees_it_when_one_is_planted(world):
    world.standard()
    world.use_mfa_process()
    stderrs = []
    for _ in range(2):
        result = world.run("credential-process", "--profile", "prod-read-only", "--debug")
        assert result.returncode == 0, result.stderr
        stderrs.append(result.stderr)
    secrets, codes = evidence(world.sts)
    assert json.loads(result.stdout)["SecretAccessKey"] in secrets
    assert len(world.sts.issued_secrets()) >= 4  # the MFA session's and the role's key, token
    assert world.sts.codes_seen()
    found, scanned = leaks([world.home], stderrs, secrets, codes)
    assert found == [] and scanned > 0
    # The scan is not blind: a token in a file, a code in a message, each found.
    planted = world.home / "leak.txt"
    planted.write_text(f"token {world.sts.issued_secrets()[-1]}\n")
    code = world.sts.codes_seen()[0]
    found, _ = leaks([world.home], [f"oops: {code}."], secrets, codes)
    assert found == [f"a secret is in {planted}", f"an MFA code is in a stderr: 'oops: {code}.'"]
    planted.unlink()
