"""doctor: each AWS Sign-In login (console credentials) the configs know: its token where it is
kept (a file of the user's alone, every member there), its DPoP key (a P-256 key whose proofs
verify), the refresh's path up to the call (the endpoint, a proof for it: nothing sent), and
who STS says its credentials are, refreshed first when they are due, as any caller would; a
refusal for want of `signin:CreateOAuth2Token` names the managed policy. Never a token, never
a login started by doctor."""

from ..errors import UserError
from .check import FAIL, OK, WARN, Check


def logins(config_path: str) -> list[Check]:
    from ..credentials import login

    try:
        found = login.every_login(config_path)
    except UserError as e:
        return [Check(FAIL, f"AWS Sign-In logins: {e.what}", e.fix)]
    out: list[Check] = []
    for one in found:
        out += _login(one)
    return out


def _login(one) -> list[Check]:
    from ..credentials import login
    from ..credentials.login import dpop, flows

    what = f"AWS Sign-In {one.label}"
    try:
        document = one.read()
        if document is None:
            return [Check(WARN, f"{what}: not signed in", f"sign in: run {one.login_command}")]
        login.checked(document, one)
    except UserError as e:
        return [Check(FAIL, f"{what}: {e.what}", e.fix)]
    store = one.token_store()
    where = store.where() if store is not None else "?"
    out = [Check(OK, f"{what}: token in {where}"
                 + (" (mode 0600, yours alone)" if one.storage == "file" else ""))]
    try:
        key = dpop.from_pem(document["dpopKey"])
    except dpop.NotAKey as e:
        return out + [Check(FAIL, f"{what}: its dpopKey cannot be used: {e}",
                            f"log in again: run {one.login_command}")]
    try:
        client = flows.signin_client(document.get("signInRegion") or one.region)
        url = flows.base_url(client) + "/v1/token"
        _verify(key, dpop.proof(key, url))
    except Exception as e:  # a key whose own proofs do not verify, an endpoint rule that fails
        return out + [Check(FAIL, f"{what}: no refresh can be made ({type(e).__name__})",
                            f"log in again: run {one.login_command}")]
    out.append(Check(OK, f"{what}: P-256 DPoP key; a refresh would be sent to {url} with a "
                         "proof that verifies (nothing sent)"))
    out.append(_identity(one, what))
    return out


def _verify(key, proof: str) -> None:
    """Check a proof's signature with the key's public half, as AWS would (raises if not)."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    head, claims, signature = proof.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    key.public_key().verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                                 int.from_bytes(raw[32:], "big")),
                            f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))


def _identity(one, what: str) -> Check:
    """Who STS says the login's credentials are: refreshed first if due (under the login's
    lock, as any caller), never a person asked."""
    from ..credentials import login
    from ..credentials.login.flows import fresh_login
    from ..credentials.source_session import SourceSession

    def nobody(session, why):
        raise why

    try:
        document = fresh_login(one, sign_in=nobody)
        credentials = login.credentials_of(document)
        session = SourceSession(one.name, one.region, one.name, anonymous=True)
        arn = session.caller_identity(credentials)
    except UserError as e:
        return Check(FAIL, f"{what}: {e.what}", e.fix)
    return Check(OK, f"{what}: STS says {arn}; {login.state(one)[0].split('; ', 1)[1]}")
