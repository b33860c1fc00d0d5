"""The suite's secret scan: no secret STS issued, no MFA code it accepted, no key the tests
made may be found in any file under any test HOME (the cache dir included), in the keyring
daemon's files, or in any stderr a test captured from the helper or the aws CLI. conftest.py
runs it once the whole session is over, from a session fixture's teardown.

IAM Identity Center's tokens, client secrets, device and authorization codes
(tests/harness/sso_portal.py's ISSUED) may be in one place only: the AWS CLI's token files,
~/.aws/sso/cache/*.json, where the AWS tools read them."""

from pathlib import Path

from tests.harness.otp import appears
from tests.harness.sso_portal import ISSUED as SSO_ISSUED
from tests.harness.world import ALICE_SECRET, ALL_WORLDS, CAPTURED_STDERR, EXTRA_SECRETS, MFA_CODE


def evidence(sts) -> tuple[list[str], list[str]]:
    """(secrets, MFA codes) to look for: what STS issued and accepted, what the tests made."""
    return [*sts.issued_secrets(), ALICE_SECRET, *EXTRA_SECRETS], [*sts.codes_seen(), MFA_CODE]


def leaks(roots: list[Path], stderrs: list[str], secrets: list[str],
          codes: list[str]) -> tuple[list[str], int]:
    """(where each secret or code was found, how many files were read)."""
    found, scanned = [], 0
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            scanned += 1
            for secret in secrets:
                if secret == ALICE_SECRET and path.name == "credentials":
                    continue  # the tests write alice's key there themselves
                if secret.encode() in data:
                    found.append(f"a secret is in {path}")
            found += [f"an MFA code is in {path}" for code in codes if appears(code, data)]
            token_file = path.parent.name == "cache" and path.parent.parent.name == "sso" \
                and path.suffix == ".json"
            found += [f"an IAM Identity Center secret is in {path}" for secret in SSO_ISSUED
                      if not token_file and secret.encode() in data]
    for stderr in stderrs:
        found += [f"a secret is in a stderr: {stderr[:200]!r}" for secret in secrets
                  if secret in stderr]
        found += [f"an MFA code is in a stderr: {stderr[:200]!r}" for code in codes
                  if appears(code, stderr)]
        found += [f"an IAM Identity Center secret is in a stderr: {stderr[:200]!r}"
                  for secret in SSO_ISSUED if secret in stderr]
    return found, scanned


def scan_session(sts, daemon_root: Path) -> tuple[list[str], int]:
    secrets, codes = evidence(sts)
    return leaks([w.home for w in ALL_WORLDS] + [daemon_root], CAPTURED_STDERR, secrets, codes)
