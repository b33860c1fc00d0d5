"""The credentials family, and `Credentials`: a set of temporary AWS credentials and the
credential_process output format.

The modules of this family: `resolver` (a profile's chain of providers, each cached entry
read, locked, read again and fetched in one place, and the refresh policy), `providers/` (the
providers, one class each: long-term keys of an AWS profile, IAM Identity Center, AWS's own
sign-in, a stored source, the MFA session and a role hop; only on a miss), `cache` (cache keys
and the entry format), `hit` (the cache hit served before anything else is imported, from the
card the full path leaves), `source_session` (the source profile's botocore session, for STS,
IAM, Organizations and EKS calls, errors made readable), `locking` (the per-key cross-process
locks), `mfa_codes` (one use per MFA code), `stored/` (IAM users' long-term keys this tool
keeps, and the vault's unlocking: one owner), `execenv` (credentials as `exec`'s environment),
`sign_in` (the one seam for a login a person completes), `sso/` (IAM Identity Center:
sessions, the token file shared with the AWS CLI, sign-in and renewal) and `login/` (AWS's own
sign-in: the token file, DPoP proofs, the browser and terminal flows). Console sign-in URLs
and browsers are the console family's; profile discovery is discovery's.

`Credentials` lives here, in the package itself, because a cache hit needs it: no module more to
import on every `aws` command; and `fetched_once`, the one way anything shared between
processes is read and renewed (a cache entry, an IAM Identity Center token, the vault's key),
for the same reason: read it; when that is not good enough, take its lock, read it again (a
parallel caller may have just renewed it), and only then fetch.
"""

import time

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from collections.abc import Callable
    from typing import TypeVar

    Shared = TypeVar("Shared")


def json_string(text: str) -> str:
    """`text` as a JSON string literal (RFC 8259): the json module costs milliseconds to import."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if not escaped.isprintable() and any(ord(char) < 0x20 for char in escaped):
        escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 else c for c in escaped)
    return f'"{escaped}"'


class Credentials:
    """A set of (temporary) AWS credentials. Plain class: it is on the cache-hit path."""

    __slots__ = ("access_key_id", "secret_access_key", "session_token", "expiration")

    def __init__(self, access_key_id: str, secret_access_key: str, session_token: str | None,
                 expiration: int):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token
        self.expiration = expiration  # seconds since the epoch, UTC: no time zone to get wrong

    def __repr__(self) -> str:  # never the secrets
        return f"Credentials({self.access_key_id}, expires {self.expiration_rfc3339()})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Credentials) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def seconds_left(self, now: float | None = None) -> float:
        return self.expiration - (time.time() if now is None else now)

    def expiration_rfc3339(self) -> str:
        # botocore crashes on naive timestamps and Go parses strictly: always UTC with "Z".
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expiration))

    def process_json(self, account_id: str | None = None) -> str:
        """The document `credential_process` must print (Version is the integer 1). Newer SDKs
        use `AccountId` for account-based endpoints; older ones ignore it."""
        members = [("AccessKeyId", self.access_key_id),
                   ("SecretAccessKey", self.secret_access_key)]
        if self.session_token:
            members.append(("SessionToken", self.session_token))
        members.append(("Expiration", self.expiration_rfc3339()))
        if account_id:
            members.append(("AccountId", account_id))
        return '{"Version": 1, ' + ", ".join(
            f"{json_string(key)}: {json_string(value)}" for key, value in members) + "}"

    @classmethod
    def from_sts(cls, response_credentials: dict) -> "Credentials":
        """From the `Credentials` member of an STS response (Expiration is an aware datetime)."""
        return cls(
            access_key_id=response_credentials["AccessKeyId"],
            secret_access_key=response_credentials["SecretAccessKey"],
            session_token=response_credentials.get("SessionToken"),
            expiration=int(response_credentials["Expiration"].timestamp()),
        )


def fetched_once(name: str, what: str, read: "Callable[[], Shared | None]",
                 fetch: "Callable[[], Shared]", warnings: list[str] | None = None,
                 before_lock: "Callable[[], None] | None" = None) -> "Shared":
    """`read()`'s answer while it has one; else, holding the lock of `name` (`what` names it in
    messages), `read()` again (a parallel caller may have just fetched) and only then `fetch()`,
    once for every caller waiting on the lock; a failure of the holder is handed to them
    (credentials/locking.py). `before_lock()` runs before the lock is taken (a loop back into
    this helper would wait for the lock it holds). On a hit, nothing more is imported."""
    found = read()
    if found is not None:
        return found
    if before_lock is not None:
        before_lock()
    from . import locking

    with locking.held(name, what, warnings) as lock:
        found = read()
        if found is not None:
            return found
        return lock.fetch(fetch)
