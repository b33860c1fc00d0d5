"""A SigV4-presigned URL (AWS General Reference, "Create a presigned URL"; botocore's
SigV4QueryAuth), without botocore: an EKS token is one local signature over cached credentials,
and importing botocore costs twenty times the whole cache hit. The URL is botocore's byte for
byte (tests/test_eks.py signs the same request with botocore's own presigner and compares).

SHA-256 comes from the interpreter's builtin module and HMAC is written out (RFC 2104): the
`hashlib` and `hmac` modules load OpenSSL, several milliseconds on every kubectl command.
"""

try:
    from _sha256 import sha256  # Python 3.11
except ImportError:  # pragma: no cover - 3.12 renamed it; other interpreters
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment,no-redef]

ALGORITHM = "AWS4-HMAC-SHA256"
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
BLOCK = 64  # SHA-256's block size, for HMAC
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# Each byte as SigV4 writes it: RFC 3986's unreserved characters as they are, the rest as
# upper-case %XX (a table: the session token alone is a thousand characters).
ENCODED = [chr(b) if b in UNRESERVED else f"%{b:02X}" for b in range(256)]
ENCODED_PATH = [("/" if b == 0x2F else c) for b, c in enumerate(ENCODED)]


def quote(text: str, safe: bytes = b"") -> str:
    """Percent-encoding as SigV4 wants it (RFC 3986 unreserved kept, UTF-8 bytes, upper-case
    hex), what botocore's quote(safe='-_.~') gives; `safe` may be b"/" (a path)."""
    table = ENCODED_PATH if safe == b"/" else ENCODED
    return "".join(map(table.__getitem__, text.encode("utf-8")))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    if len(key) > BLOCK:
        key = sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


def host_of(endpoint: str) -> tuple[str, str, str]:
    """(scheme, host as it is signed, path) of an endpoint URL: the host lower-case, its port
    dropped where it is the scheme's default (botocore's _host_from_url)."""
    scheme, _, rest = endpoint.partition("://")
    netloc, slash, path = rest.partition("/")
    netloc = netloc.rpartition("@")[2].lower()
    default = {"http": ":80", "https": ":443"}.get(scheme.lower())
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return scheme.lower(), netloc, "/" + path if slash else "/"


def presign_get(endpoint: str, params: list[tuple[str, str]], headers: dict[str, str],
                access_key: str, secret_key: str, token: str | None, region: str,
                service: str, expires: int, amz_date: str) -> str:
    """A presigned GET of `endpoint` with the operation's `params`, signing `headers` (lower-
    case names) and the host; `amz_date` is `YYYYMMDDTHHMMSSZ`."""
    scheme, host, path = host_of(endpoint)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    signed = {"host": host, **{k.lower(): " ".join(v.split()) for k, v in headers.items()}}
    names = sorted(signed)
    # In the order botocore's SigV4QueryAuth writes them (the signature does not depend on
    # it; botocore's awscrt signer writes X-Amz-SignedHeaders before X-Amz-Expires).
    auth = [("X-Amz-Algorithm", ALGORITHM), ("X-Amz-Credential", f"{access_key}/{scope}"),
            ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", ";".join(names))]
    if token is not None:
        auth.append(("X-Amz-Security-Token", token))
    encoded = [(quote(k), quote(v)) for k, v in [*params, *auth]]
    canonical = "\n".join([
        "GET", quote(path, b"/"), "&".join(f"{k}={v}" for k, v in sorted(encoded)),
        "".join(f"{name}:{signed[name]}\n" for name in names), ";".join(names), EMPTY_SHA256])
    to_sign = "\n".join([ALGORITHM, amz_date, scope,
                         sha256(canonical.encode("utf-8")).hexdigest()])
    key = f"AWS4{secret_key}".encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac_sha256(key, part.encode("utf-8"))
    signature = hmac_sha256(key, to_sign.encode("utf-8")).hex()
    query = "&".join(f"{k}={v}" for k, v in encoded)
    return f"{scheme}://{endpoint.partition('://')[2].partition('/')[0]}{path}?{query}" \
           f"&X-Amz-Signature={signature}"
