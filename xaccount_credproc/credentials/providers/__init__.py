"""The providers: each one way to get credentials, one class with one `fetch`, composed into a
profile's chain by the resolver (resolver.py), which puts each cached one behind its entry.

    LongTermKeys   an AWS profile's own credentials, as botocore resolves them (keys in
                   ~/.aws/credentials; or another tool's session, which is temporary)
    SsoSource      an AWS profile signed in through IAM Identity Center (`aws sso login`)
    LoginSource    an AWS Sign-In login (console credentials: `aws login`, `login`), an AWS
                   profile's `login_session` or a [logins.NAME] of the TOML
    IdentityCenterRole  a role of IAM Identity Center as a profile of this tool's config
                   (GetRoleCredentials with the session's token)
    StoredSource   an IAM user's keys that this tool keeps in the OS keyring or the vault
    MfaSession     GetSessionToken signed by a source, with one MFA code: the shared MFA session
    RoleHop        AssumeRole signed by a source, an MFA session or the hop before it

One module each: `aws_profile` (LongTermKeys, SsoSource), `aws_login` (LoginSource),
`stored_keys` (StoredSource),
`identity_center` (IdentityCenterRole), `hops` (MfaSession, RoleHop); their interfaces in
`interface`. This module composes them: `source_for` picks the source of a profile's chain,
`role_hop` the provider of its own credentials with the signer its config and source call for,
and `mfa_use` says, from the config alone, how a profile's MFA is satisfied (for `list` and
`doctor` too).

A source also carries the client settings of its AWS profile (`session`: endpoint, proxy, CA
bundle), which every call along its chain uses. Only a cache miss imports this package.
"""

from ... import debug
from ...config import Profile
from ...errors import ConfigError
from ..source_session import SourceSession
from .aws_login import LoginSource
from .aws_profile import LongTermKeys, SsoSource
from .hops import MfaSession, RoleHop
from .identity_center import IdentityCenterRole
from .interface import ChainResolver, Provider, Source
from .stored_keys import StoredSource

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..sign_in import SignIn

# AWS treats AssumeRole signed by a GetSessionToken session like role chaining: 1 hour at most
# (IAM User Guide, "Role chaining"; knowledge center "iam-role-chaining-limit").
SHARED_SESSION_MAX = 3600

__all__ = ["ChainResolver", "IdentityCenterRole", "LoginSource", "LongTermKeys", "MfaSession",
           "Provider", "RoleHop", "Source", "SsoSource", "StoredSource", "attribution",
           "mfa_use", "role_hop", "source_for"]


def mfa_use(profile: Profile) -> tuple[str, str]:
    """How a profile's MFA is satisfied, as far as its config tells: ("shared", "") when its
    AssumeRole rides the shared MFA session (one code for every such role, renewed for hours),
    ("own code", why) when the code goes on its own AssumeRole, ("", "") without MFA. Whether
    the source has long-term keys (GetSessionToken needs them) is known only at STS."""
    p = profile
    if not p.mfa_serial:
        return "", ""
    if p.via is not None:
        return "own code", f"its source '{p.via.name}' is a role, not an IAM user"
    if not p.mfa_session:
        return "own code", "mfa_session = false"
    if p.cache == "none":
        return "own code", 'cache = "none": the MFA session could not be cached'
    if p.duration_seconds > SHARED_SESSION_MAX:
        return "own code", (f"duration_seconds {p.duration_seconds} is over {SHARED_SESSION_MAX}: "
                            "AWS limits a role assumed with an MFA session to 1 hour")
    if p.mfa_session_duration < p.duration_seconds:
        return "own code", (f"mfa_session_duration {p.mfa_session_duration}s is shorter than "
                            f"duration_seconds {p.duration_seconds}s")
    return "shared", ""


def attribution(profile: Profile) -> str:
    """What this profile's AssumeRole says about who is behind it (SourceIdentity, session
    tags), and the trust policy permissions that needs; "" when nothing."""
    p = profile
    parts, needs = [], []
    if p.source_identity:
        parts.append(f"source identity '{p.source_identity}'")
        needs.append("sts:SetSourceIdentity")
    if p.tags:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(p.tags.items()))
        transitive = (f" (transitive: {', '.join(p.transitive_tags)})"
                      if p.transitive_tags else "")
        parts.append(f"tags {tags}{transitive}")
        needs.append("sts:TagSession")
    if not parts:
        return ""
    return f"{'; '.join(parts)}; its trust policy must allow {' and '.join(needs)}"


def source_for(profile: Profile, warnings: list[str], sign_in: "SignIn | None" = None) -> Source:
    """The source a profile's chain starts from: an IAM Identity Center role of the TOML, a
    stored source or a login by its config, else the AWS profile: SSO when it names an Identity
    Center login, a login when it names a `login_session` (`sign_in`: who signs in again when
    a login cannot be renewed without a person)."""
    if profile.chain[0].sso is not None:
        return IdentityCenterRole(profile.chain[0], warnings, sign_in)
    if profile.chain[0].stored_source is not None:
        return StoredSource(profile, warnings)
    if profile.chain[0].login is not None:
        return LoginSource(profile, warnings, sign_in)
    session = SourceSession(profile.root_source, profile.region, profile.name, warnings)
    aws_profile = session.scoped_config()
    if aws_profile.get("sso_session") or aws_profile.get("sso_start_url"):
        return SsoSource(session, sign_in)
    if aws_profile.get("login_session") and not _has_keys(aws_profile):
        return LoginSource(profile, warnings, sign_in)
    return LongTermKeys(session)


def _has_keys(aws_profile: dict) -> bool:
    """Whether botocore would take the profile's keys before its login (they come first in
    its chain: ~/.aws/credentials, then the login, then credential_process)."""
    return bool(aws_profile.get("aws_access_key_id"))


def role_hop(resolver: ChainResolver, profile: Profile) -> Provider:
    """The provider of the profile's own credentials: an IAM Identity Center role's portal
    call, else its role hop, with the signer its config and source call for."""
    p = profile
    source = resolver.source_of(p)
    if p.sso is not None:
        return source
    if p.via is not None:
        # Signed by the source role's credentials, from its own entry (cache, lock, margin,
        # MFA): ten spokes behind one hub share one hub session. The MFA at this hop goes on
        # its own AssumeRole (there is no MFA session behind a role).
        return RoleHop(p, resolver, resolver.chain(p.via), source.session,
                       own_code=bool(p.mfa_serial),
                       signer_name=f"the session of profile '{p.via.name}'", clamp=True)
    if p.duration_seconds > SHARED_SESSION_MAX and not source.long_term():
        # A role session over an hour needs AssumeRole signed by long-term keys: AWS refuses one
        # signed by temporary credentials. Said before the call, naming the real rule.
        raise ConfigError(
            f"profile '{p.name}': duration_seconds {p.duration_seconds} is over "
            f"{SHARED_SESSION_MAX}, but source profile '{p.root_source}' has temporary "
            "credentials (SSO, a login, a role or another tool's session), and AWS limits a "
            "role assumed with temporary credentials to 1 hour",
            f"set duration_seconds = {SHARED_SESSION_MAX} or less for '{p.name}', or use a "
            "source with long-term IAM user keys")
    if not p.mfa_serial:
        return RoleHop(p, resolver, source, source.session)
    reason = _why_not_mfa_session(p, resolver, source)
    if reason is None:
        return RoleHop(p, resolver, resolver.mfa_session(p, source), source.session,
                       signer_name="the cached MFA session")
    debug.log(f"MFA goes on AssumeRole itself: {reason}")
    return RoleHop(p, resolver, source, source.session, own_code=True)


def _why_not_mfa_session(profile: Profile, resolver: ChainResolver, source: Source) -> str | None:
    use, reason = mfa_use(profile)
    if use != "shared":
        return reason
    if not resolver.can_cache(profile):
        return "the MFA session could not be cached"
    if not source.long_term():
        return ("the source profile has temporary credentials, and GetSessionToken needs "
                "long-term IAM user keys")
    return None
