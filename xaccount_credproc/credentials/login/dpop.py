"""The login's proof-of-possession key and its DPoP proofs (RFC 9449), with `cryptography`.

A login is bound, when its authorization code is redeemed, to a P-256 key made for it alone;
every later CreateOAuth2Token of that login carries a `DPoP` header: a JWT (RFC 7519) whose
header names ES256 and holds the public key as a JWK (RFC 7517/7518), whose claims are the
request's method (`htm`) and URL (`htu`), the time (`iat`) and a value never sent before
(`jti`), signed with the private key (the signature as r || s, 32 bytes each: RFC 7518 3.4).

The key is kept as the AWS CLI and botocore keep it (`dpopKey`): PEM of the SEC1 structure
("EC PRIVATE KEY", RFC 5915), 64-column lines. A key of another curve, or text that is not
one, is refused with a line saying what it is.
"""

import base64
import json
import time
import uuid

CURVE_NAME = "P-256"


class NotAKey(ValueError):
    """The text is not a P-256 private key in PEM."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_key():
    """A fresh P-256 private key, for one login."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def to_pem(key) -> str:
    """`key` as SEC1 PEM ("-----BEGIN EC PRIVATE KEY-----"), as the AWS CLI writes it."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode("ascii")


def from_pem(text) -> object:
    """The private key in `text`; NotAKey saying what is wrong."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(text, str) or "PRIVATE KEY-----" not in text:
        raise NotAKey("it is not a PEM private key")
    try:
        key = serialization.load_pem_private_key(text.encode("ascii", "replace"), password=None)
    except (ValueError, TypeError):
        raise NotAKey("the PEM does not hold a readable private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise NotAKey(f"it is a {type(key).__name__.replace('PrivateKey', '').strip('_')} "
                        "key, not an elliptic-curve one")
    if not isinstance(key.curve, ec.SECP256R1):
        raise NotAKey(f"it is on curve {key.curve.name}, not {CURVE_NAME}")
    return key


def jwk(key) -> dict:
    """The public half of `key` as a JWK (RFC 7518 6.2.1), members in the order AWS's SDKs use."""
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")), "crv": CURVE_NAME}


def proof(key, url: str, method: str = "POST", now: float | None = None) -> str:
    """A DPoP proof for one request of `method` to `url` (RFC 9449 4.2)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk(key)}
    claims = {"htm": method, "htu": url, "iat": int(time.time() if now is None else now),
              "jti": str(uuid.uuid4())}
    signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, claims))
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"),
                                         ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
