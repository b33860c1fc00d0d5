"""Cached credentials: what the keys are, and how an entry is written into a keyring.

Keys name everything that changes the result of the STS call, so two profiles that would get the
same credentials share an entry and nothing else does. An entry is versioned and self-checking: a
corrupt, truncated, foreign (stored under another key) or future-version entry reads as a miss and
is overwritten by the next fetch, never a crash.

Windows Credential Manager holds at most 2560 bytes per secret, and keyring stores UTF-16 there:
an entry is split into chunks of at most CHUNK characters, stored under NAME, NAME/1, NAME/2, ...
Chunk 0 starts with a header "xcp2 <chunks> <check> " that ties the pieces together (the check
is 4 bytes of BLAKE2b, whose module the hit path loads anyway; "xcp1" entries, checked with
zlib's CRC-32, are still read). The payload
is the key name, AccessKeyId, SecretAccessKey, SessionToken and expiry (epoch seconds), one per line:
no JSON parser on the cache-hit path.
"""

from .. import environ
from .._digest import blake2b, digest
from . import Credentials

TYPING = False  # True for mypy (pyproject.toml): the store's interface, without importing typing
if TYPING:
    from ..backends.store import SecretStore

FORMAT = "xcp2"
FORMERLY = "xcp1"  # CRC-32 checked: read, never written
CHUNK = 1200  # characters: 2400 bytes of UTF-16, under the 2560-byte Windows limit
MAX_CHUNKS = 16
MAX_EXPIRATION = 253402300799  # 9999-12-31T23:59:59Z: what RFC 3339 and gmtime() can show
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL")


def _endpoint_identity(region: str | None) -> list:
    # The same role through another endpoint (a test emulator, a FIPS endpoint) is another entry.
    return [region, *(environ(v) for v in ENDPOINT_VARIABLES)]


def role_key(profile) -> str:
    # A chained role is keyed by its source's key: a change anywhere up the chain is a new entry.
    source = role_key(profile.via) if profile.via is not None else profile.source_profile
    fields = [source, profile.role_arn, profile.external_id,
              profile.role_session_name, profile.duration_seconds, profile.mfa_serial,
              *_endpoint_identity(profile.region)]
    if profile.source_identity or profile.tags:  # the same key as before for those without
        fields += [profile.source_identity, sorted(profile.tags.items()),
                   sorted(profile.transitive_tags)]
    if profile.sso is not None:  # an IAM Identity Center role: its session, account and role
        fields += [sorted(profile.sso.as_dict().items())]
    return "role/" + digest(repr(fields))


def user_session_key(profile) -> str:
    """A stored source's own session without MFA (with MFA it is its MFA session)."""
    fields = [profile.source_profile, *_endpoint_identity(profile.region)]
    return "user-session/" + digest(repr(fields))


def mfa_session_key(profile) -> str:
    fields = [profile.source_profile, profile.mfa_serial, *_endpoint_identity(profile.region)]
    return "mfa-session/" + digest(repr(fields))


def mfa_code_key(profile) -> str:
    """The record of the MFA device's last code (credentials/mfa_codes.py): one per device,
    whatever the region (IAM's MFA devices are global), per endpoint (a test emulator)."""
    fields = [profile.mfa_serial, *_endpoint_identity(None)[1:]]
    return "mfa-code/" + digest(repr(fields))


def chunk_name(name: str, index: int) -> str:
    return name if index == 0 else f"{name}/{index}"


def encode(name: str, credentials: Credentials, chunk: int = CHUNK) -> list[str]:
    """The chunks to store for `credentials` under `name`, of at most `chunk` characters."""
    fields = [name, credentials.access_key_id, credentials.secret_access_key,
              credentials.session_token or "", str(int(credentials.expiration))]
    if any("\n" in field for field in fields):
        raise ValueError("credentials with a line break cannot be cached")
    return pieces("\n".join(fields), chunk)


def pieces(payload: str, chunk: int = CHUNK, limit: int = MAX_CHUNKS) -> list[str]:
    """`payload` as chunks of at most `chunk` characters, the first with the header."""
    header_room = chunk - 32
    out = [payload[:header_room]]
    rest = payload[header_room:]
    while rest:
        out.append(rest[:chunk])
        rest = rest[chunk:]
    if len(out) > limit:
        raise ValueError("too large to keep in the keyring")
    out[0] = f"{FORMAT} {len(out)} {_check(FORMAT, payload):08x} {out[0]}"
    return out


def _check(version: str, payload: str) -> int:
    data = payload.encode("utf-8")
    if version == FORMERLY:
        import zlib

        return zlib.crc32(data)
    return int.from_bytes(blake2b(data, digest_size=4).digest(), "big")


def parse_header(first: str | None, limit: int = MAX_CHUNKS) -> tuple[int, int, str, str] | None:
    """(chunk count, check, first piece, version) of chunk 0, or None if it is not ours or not a
    format this version reads."""
    if not first:
        return None
    parts = first.split(" ", 3)
    if len(parts) != 4 or parts[0] not in (FORMAT, FORMERLY):
        return None
    try:
        count, crc = int(parts[1]), int(parts[2], 16)
    except ValueError:
        return None
    if not 1 <= count <= limit:
        return None
    return count, crc, parts[3], parts[0]


def joined(chunks: list[str | None], limit: int = MAX_CHUNKS) -> str | None:
    """The payload of all chunks of an entry; None for anything unexpected."""
    header = parse_header(chunks[0] if chunks else None, limit)
    if header is None or len(chunks) != header[0] or any(c is None for c in chunks[1:]):
        return None
    payload = header[2] + "".join(c or "" for c in chunks[1:])  # none is None (checked)
    if _check(header[3], payload) != header[1]:
        return None
    return payload


def decode(name: str, chunks: list[str | None]) -> Credentials | None:
    """Credentials from all chunks of an entry; None for anything unexpected."""
    return from_payload(name, joined(chunks))


def from_payload(name: str, payload: str | None) -> Credentials | None:
    """Credentials from an entry's payload; None for anything unexpected."""
    if payload is None:
        return None
    fields = payload.split("\n")
    if len(fields) != 5 or fields[0] != name or not fields[1] or not fields[2]:
        return None
    # ASCII digits only ("²".isdigit() is true), and an expiry time can express: anything else
    # is a miss that gets overwritten, never an error later.
    if not (fields[4].isascii() and fields[4].isdigit() and len(fields[4]) <= 11):
        return None
    if int(fields[4]) > MAX_EXPIRATION:
        return None
    return Credentials(fields[1], fields[2], fields[3] or None, int(fields[4]))


class Entries:
    """Payloads by key in a secret store (see backends/), each in chunks under one header;
    never raises for bad entries (they read as None). `limit`: the most chunks an entry takes."""

    def __init__(self, store: "SecretStore", limit: int = MAX_CHUNKS):
        self.store, self.limit = store, limit

    def get_payload(self, name: str) -> str | None:
        first = self.store.get_many([name])[0]
        header = parse_header(first, self.limit)
        if header is None:
            return None
        rest = [chunk_name(name, i) for i in range(1, header[0])]
        return joined([first, *self.store.get_many(rest)] if rest else [first], self.limit)

    def put_chunks(self, name: str, chunks: list[str], expires: int | None = None) -> None:
        old = parse_header(self.store.get_many([name])[0], self.limit)
        # A store that can drop entries by itself (the kernel keyring) is told when.
        expiry = {"expires": expires} if expires and self.store.traits().expires else {}
        # Later chunks first, the header last: a reader never sees a header before its pieces.
        for index in range(len(chunks) - 1, -1, -1):
            self.store.set(chunk_name(name, index), chunks[index], **expiry)
        for index in range(len(chunks), old[0] if old else 0):
            self.store.delete(chunk_name(name, index))

    def delete(self, name: str) -> bool:
        header = parse_header(self.store.get_many([name])[0], self.limit)
        count = header[0] if header else self.limit
        found = False
        for index in range(count):
            deleted = self.store.delete(chunk_name(name, index))
            if not deleted and header is None and index > 0:
                break  # without a header, stop at the first gap
            found = found or deleted
        return found


class CredentialCache(Entries):
    """Credentials by key in a secret store (see backends/); never raises for bad entries."""

    def get(self, name: str) -> Credentials | None:
        return from_payload(name, self.get_payload(name))

    def put(self, name: str, credentials: Credentials) -> None:
        chunks = encode(name, credentials, self.store.traits().chunk_size or CHUNK)
        self.put_chunks(name, chunks, int(credentials.expiration))
