"""The suite's secret scan: no secret STS issued, no MFA code it accepted, no key the tests
made may be found in any file under any test HOME (the cache dir included), in the keyring
daemon's files, or in any stderr a test captured from the helper or the aws CLI. conftest.py
runs it once the whole session is over, from a session fixture's teardown.

IAM Identity Center's tokens, client secrets, device and authorization codes
(tests/harness/sso_portal.py's ISSUED) may be in one place only: the AWS CLI's token files,
~/.aws/sso/cache/*.json, where the AWS tools read them. AWS Sign-In's (the console
credentials, refresh tokens, authorization and verification codes, PKCE verifiers:
tests/harness/signin_emulator.py's ISSUED) and each login's DPoP key likewise: only in
~/.aws/login/cache/*.json."""

import re
from pathlib import Path

from tests.harness.signin_emulator import ISSUED as SIGNIN_ISSUED
from tests.harness.signin_emulator import key_secrets
from tests.harness.sso_portal import ISSUED as SSO_ISSUED
from tests.harness.world import ALICE_SECRET, ALL_WORLDS, CAPTURED_STDERR, EXTRA_SECRETS, MFA_CODE


def evidence(sts) -> tuple[list[str], list[str]]:
    """(secrets, MFA codes) to look for: what STS issued and accepted, what the tests made."""
    return [*sts.issued_secrets(), ALICE_SECRET, *EXTRA_SECRETS], [*sts.codes_seen(), MFA_CODE]


class Needles:
    """Many secrets looked for at once in much text: every run of token characters is slid
    over with an index of the secrets' first PREFIX characters (a plain `in` for each secret
    and each file made the session's scan take half a minute); a secret with other characters
    (a passphrase with spaces) is looked for as it is."""

    PREFIX = 12
    RUN = re.compile(rb"[A-Za-z0-9_\-+/=.]{%d,}" % PREFIX)

    def __init__(self, secrets):
        self.index: dict[bytes, list[bytes]] = {}
        self.odd: list[bytes] = []
        for secret in {s.encode() for s in secrets if s}:
            if len(secret) >= self.PREFIX and self.RUN.fullmatch(secret):
                self.index.setdefault(secret[:self.PREFIX], []).append(secret)
            else:
                self.odd.append(secret)

    def found(self, data: bytes) -> set[bytes]:
        out = {secret for secret in self.odd if secret in data}
        for match in self.RUN.finditer(data):
            run = match.group()
            for start in range(len(run) - self.PREFIX + 1):
                for secret in self.index.get(run[start:start + self.PREFIX], ()):
                    if run.startswith(secret, start):
                        out.add(secret)
        return out


CODE_RE = re.compile(rb"(?<![0-9])([0-9]{6})(?![0-9])")


def numbers(data: bytes) -> set[str]:
    """The six-digit numbers that stand on their own in `data` (as an MFA code would)."""
    return {number.decode() for number in CODE_RE.findall(data)}


def leaks(roots: list[Path], stderrs: list[str], secrets: list[str],
          codes: list[str]) -> tuple[list[str], int]:
    """(where each secret or code was found, how many files were read)."""
    found, scanned = [], 0
    ours, sso, code_set = Needles(secrets), Needles(SSO_ISSUED), set(codes)
    signin = Needles([*SIGNIN_ISSUED, *login_keys(roots)])
    alice = ALICE_SECRET.encode()
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            scanned += 1
            # The tests write alice's key into the credentials file themselves.
            hits = ours.found(data) - ({alice} if path.name == "credentials" else set())
            found += [f"a secret is in {path}"] * len(hits)
            found += [f"an MFA code is in {path}"] * len(numbers(data) & code_set)
            if not token_file(path, "sso"):
                found += [f"an IAM Identity Center secret is in {path}"] * len(sso.found(data))
            if not token_file(path, "login"):
                found += [f"an AWS Sign-In secret is in {path}"] * len(signin.found(data))
    for stderr in stderrs:
        data = stderr.encode()
        shown = repr(stderr[:200])
        found += [f"a secret is in a stderr: {shown}"] * len(ours.found(data))
        found += [f"an MFA code is in a stderr: {shown}"] * len(numbers(data) & code_set)
        found += [f"an IAM Identity Center secret is in a stderr: {shown}"] * len(
            sso.found(data))
        found += [f"an AWS Sign-In secret is in a stderr: {shown}"] * len(signin.found(data))
    return found, scanned


def token_file(path: Path, kind: str) -> bool:
    """Whether `path` is one of the AWS tools' token files of `kind` (~/.aws/KIND/cache)."""
    return path.parent.name == "cache" and path.parent.parent.name == kind \
        and path.suffix == ".json"


def login_keys(roots: list[Path]) -> list[str]:
    """The DPoP keys of every login token file left under `roots`: secrets the helper made."""
    import json

    keys: list[str] = []
    for root in roots:
        for path in root.rglob("*.json"):
            if token_file(path, "login") and path.is_file():
                try:
                    keys += key_secrets(json.loads(path.read_text()).get("dpopKey") or "")
                except (ValueError, OSError, AttributeError):
                    continue
    return keys


def scan_session(sts, daemon_root: Path) -> tuple[list[str], int]:
    secrets, codes = evidence(sts)
    return leaks([w.home for w in ALL_WORLDS] + [daemon_root], CAPTURED_STDERR, secrets, codes)
