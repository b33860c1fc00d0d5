"""doctor: every source profile and every cached hop of a chain, asked who it is at STS."""

from ..errors import UserError
from .check import FAIL, OK, Check


def sources(profiles) -> list[Check]:
    from ..credentials.providers import StoredSource
    from ..credentials.source_session import SourceSession

    out = []
    seen = set()
    for profile in profiles:
        root = profile.root_source  # a chained profile's first hop has the real source
        # An Identity Center role is its own source: each account and role is checked.
        key = (root, profile.chain[0].region, repr(profile.chain[0].sso))
        if key in seen:
            continue
        seen.add(key)
        if profile.chain[0].sso is not None:
            out.append(_identity_center_role(profile.chain[0]))
            continue
        try:
            keys = (StoredSource(profile, []).keys()
                    if profile.chain[0].stored_source is not None else None)
        except UserError as e:
            out.append(Check(FAIL, f"stored source '{root}': {e.what}", e.fix))
            continue
        source = SourceSession(root, profile.chain[0].region, profile.chain[0].name, keys=keys)
        try:
            if _is_login(profile, source):
                continue  # its own lines: doctor/logins.py
            arn = source.caller_identity()
        except UserError as e:
            out.append(Check(FAIL, f"STS via source profile '{root}': {e.what}", e.fix))
            continue
        out.append(Check(OK, f"STS via source profile '{root}' "
                             f"({source.endpoint_url}): {arn}"))
    return out + _chains(profiles)


def _is_login(profile, source) -> bool:
    """Whether the profile's chain starts at an AWS Sign-In login."""
    root = profile.chain[0]
    if root.stored_source is not None:
        return False
    if root.login is not None:
        return True
    try:
        return bool(source.scoped_config().get("login_session"))
    except Exception:  # an AWS config botocore cannot read: the STS check says so in words
        return False


def _identity_center_role(profile) -> Check:
    """An IAM Identity Center role: still assigned (GetRoleCredentials), and who STS says its
    credentials are; never a login started by doctor."""
    from ..credentials.providers import IdentityCenterRole

    def nobody(session, why):
        raise why

    role = IdentityCenterRole(profile, [], sign_in=nobody)
    what = (f"IAM Identity Center role {profile.sso.role_name} of account "
            f"{profile.sso.account_id} (profile '{profile.name}')")
    try:
        credentials = role.fetch()
        arn = role.session.caller_identity(credentials)
    except UserError as e:
        return Check(FAIL, f"{what}: {e.what}", e.fix)
    return Check(OK, f"{what}: assigned; STS says {arn}")


def _chains(profiles) -> list[Check]:
    """Each chained profile, hop by hop: a source role with a cached session is asked who it is
    (GetCallerIdentity needs no MFA and no trust policy); one without is assumed on first use."""
    from ..backends import StoreError
    from ..credentials.resolver import Resolver
    from ..credentials.source_session import SourceSession

    out = []
    for profile in profiles:
        if profile.via is None:
            continue
        notes = []
        for hop in profile.chain[:-1]:
            try:
                cached, _ = Resolver(hop).cached()
            except StoreError:
                cached = None
            if cached is None or cached.seconds_left() <= 0:
                notes.append(f"'{hop.name}' not cached (assumed on first use)")
                continue
            # An IAM Identity Center role's chain has no AWS profile behind it.
            source = SourceSession(hop.root_source, hop.region, hop.name,
                               anonymous=hop.chain[0].sso is not None)
            try:
                arn = source.caller_identity(cached)
            except UserError as e:
                out.append(Check(FAIL, f"chain of '{profile.name}' ({profile.chain_text()}): "
                                       f"the cached session of '{hop.name}': {e.what}",
                                 f"xaccount-credproc clear {hop.name}, then try again"))
                break
            notes.append(f"'{hop.name}' cached, STS accepts it as {arn}")
        else:
            out.append(Check(OK, f"chain of '{profile.name}': {profile.chain_text()}; "
                                 + "; ".join(notes)))
    return out
