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


def test_the_scan_finds_a_secret_wherever_it_stands_and_a_code_only_on_its_own(tmp_path):
    """Inside a longer run of token characters, split over nothing, with spaces in it (a
    passphrase): found. Six digits inside a longer number (an account ID): not a code."""
    token = "IQoJb3JpZ2luX2VjE" + "A1b2-C3d4_E5f6" * 20
    (tmp_path / "run").write_text(f"prefix{token}suffix.more\n")
    (tmp_path / "phrase").write_text("the passphrase is: correct horse battery staple\n")
    (tmp_path / "number").write_text("account 123456789012\n")
    found, scanned = leaks([tmp_path], ["no code 9123456 here", "code 654321 here"],
                           [token, "correct horse battery staple"], ["123456", "654321"])
    assert scanned == 3
    assert sorted(found) == sorted([f"a secret is in {tmp_path / 'run'}",
                                    f"a secret is in {tmp_path / 'phrase'}",
                                    "an MFA code is in a stderr: 'code 654321 here'"])



def test_the_scan_allows_aws_sign_in_secrets_only_in_login_token_files(world, signin):
    """A refresh token or a DPoP key of a login in the login cache (where the AWS tools read
    it) is expected; anywhere else, or on a stderr, it is a leak."""
    from tests.harness.logins import login_world, read_token, token_path

    login_world(world, signin)
    document = read_token(world)
    found, _ = leaks([world.home], [], [], [])
    assert found == []
    (world.home / "notes.txt").write_text(f"refresh: {document['refreshToken']}\n")
    (world.home / "key.pem").write_text(document["dpopKey"])
    found, _ = leaks([world.home], [f"oops {document['accessToken']['sessionToken']}"], [], [])
    assert sorted(found) == sorted([f"an AWS Sign-In secret is in {world.home / 'notes.txt'}"]
                                   + [f"an AWS Sign-In secret is in {world.home / 'key.pem'}"]
                                   * (len(document["dpopKey"].splitlines()) - 2)
                                   + ["an AWS Sign-In secret is in a stderr: 'oops "
                                      f"{document['accessToken']['sessionToken'][:195]}'"])
    (world.home / "notes.txt").unlink()
    (world.home / "key.pem").unlink()
    assert token_path(world).exists()
