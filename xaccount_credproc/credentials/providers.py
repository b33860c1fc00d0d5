"""The providers: each one way to get credentials, one class with one `fetch`, composed into a
profile's chain by the resolver (provider.py), which puts each cached one behind its entry.

    LongTermKeys   an AWS profile's own credentials, as botocore resolves them (keys in
                   ~/.aws/credentials; or another tool's session, which is temporary)
    SsoSource      an AWS profile signed in through IAM Identity Center (`aws sso login`)
    IdentityCenterRole  a role of IAM Identity Center as a profile of this tool's config
                   (GetRoleCredentials with the session's token)
    StoredSource   an IAM user's keys that this tool keeps in the OS keyring or the vault
    MfaSession     GetSessionToken signed by a source, with one MFA code: the shared MFA session
    RoleHop        AssumeRole signed by a source, an MFA session or the hop before it

A source also carries the STS client settings of its AWS profile (`sts`: endpoint, proxy, CA
bundle), which every call along its chain uses. Only a cache miss imports this module.
"""

from collections.abc import Callable
from typing import Protocol

from .. import debug
from ..backends import StoreError
from ..config import Profile
from ..errors import AwsError, ConfigError
from . import Credentials
from .sts import EXPIRED_CODES, INVALID_CODES, StsSource

# AWS treats AssumeRole signed by a GetSessionToken session like role chaining: 1 hour at most
# (IAM User Guide, "Role chaining"; knowledge center "iam-role-chaining-limit").
SHARED_SESSION_MAX = 3600
# What a source's credentials that do not expire say as their expiration (9999-12-31).
NEVER = 253402300799


class Provider(Protocol):
    """Credentials from somewhere. `forget()` drops what the provider holds (AWS refused it)
    and says whether fetching again could give other credentials."""

    def fetch(self) -> Credentials: ...

    def forget(self) -> bool: ...


class Source(Provider, Protocol):
    """Where a chain starts: the first signer, and the STS client settings of the chain."""

    @property
    def sts(self) -> StsSource: ...

    def long_term(self) -> bool:
        """Whether these are an IAM user's long-term keys (GetSessionToken needs them, and a
        role over an hour must be assumed with them)."""
        ...


class ChainResolver(Protocol):
    """What a provider asks of the resolver that composes it (provider.Resolver): the parts
    shared along a chain, each one per run."""

    def chain(self, profile: Profile) -> Provider:
        """The profile's role credentials, behind its cache entry."""
        ...

    def mfa_session(self, profile: Profile, source: Source) -> Provider:
        """The MFA session of the profile's source and device, behind its cache entry."""
        ...

    def source_of(self, profile: Profile) -> Source: ...

    def can_cache(self, profile: Profile) -> bool:
        """Whether the profile's entries can be cached now (an MFA session must be)."""
        ...

    def with_code(self, profile: Profile, call: Callable[[str], Credentials]) -> Credentials:
        """`call(code)` with a code of the profile's MFA device no call has carried yet."""
        ...


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


# -- sources ---------------------------------------------------------------------------------------


class _AwsProfileSource:
    """An AWS profile's credentials through botocore's own providers."""

    def __init__(self, sts: StsSource):
        self._sts = sts
        self._credentials: Credentials | None = None

    @property
    def sts(self) -> StsSource:
        return self._sts

    def fetch(self) -> Credentials:
        if self._credentials is None:
            frozen = self._sts.source_credentials()
            self._credentials = Credentials(frozen.access_key, frozen.secret_key,
                                            frozen.token or None, NEVER)
        return self._credentials

    def forget(self) -> bool:
        self._credentials = None
        return False  # botocore would hand out the same ones again


class LongTermKeys(_AwsProfileSource):
    """An AWS profile whose credentials botocore resolves: an IAM user's keys in
    ~/.aws/credentials, or whatever else the profile names (another tool's credential_process,
    a botocore role), which are temporary: `long_term` tells them apart by their session token."""

    def long_term(self) -> bool:
        return not self.fetch().session_token


class SsoSource(_AwsProfileSource):
    """An AWS profile signed in through IAM Identity Center: botocore exchanges the session's
    token (from `xaccount-credproc sso login` or `aws sso login`, one file) for role
    credentials. The token is renewed first with its refresh token when it runs short (under
    the session's lock: credentials/sso/), so no person is needed while the refresh token
    lives. Always temporary."""

    def __init__(self, sts: StsSource, sign_in=None):
        """`sign_in(session, why)`: a person signing in again when the token cannot be renewed
        (None: the person at this terminal or desktop, credentials/sso/login.PersonSignIn)."""
        super().__init__(sts)
        self.sign_in = sign_in

    def fetch(self) -> Credentials:
        if self._credentials is None:
            session = self._sts.scoped_config().get("sso_session")
            if session:  # legacy profiles (sso_start_url alone) have no refresh token
                from .sso import TokenFile, session_named
                from .sso.login import PersonSignIn, fresh_token

                fresh_token(TokenFile(session_named(session)), warnings=self._sts.warnings,
                            sign_in=self.sign_in or PersonSignIn())
        return super().fetch()

    def long_term(self) -> bool:
        return False


class StoredSource:
    """An IAM user's long-term keys kept by this tool (credentials/stored/), read on first use."""

    def __init__(self, profile: Profile, warnings: list[str]):
        self.profile = profile
        self.name = profile.chain[0].source_profile
        self.warnings = warnings
        self._sts: StsSource | None = None

    def keys(self):
        """The stored keys (a StoredKeys), read from their store now."""
        from .stored import keys as stored_keys
        from .stored.stores import store_for

        root = self.profile.chain[0]
        try:
            store = store_for(root.stored_source, root.vault, self.warnings)
            keys = stored_keys.read(store, self.name)
        except StoreError as e:
            raise stored_keys.store_error(
                e, f"cannot read the stored keys of source '{self.name}'") from None
        if keys is None:
            raise ConfigError(f"source '{self.name}' has no keys stored in the OS keyring",
                              f"store them with 'xaccount-credproc source add {self.name}'")
        return keys

    @property
    def sts(self) -> StsSource:
        if self._sts is None:
            p = self.profile
            self._sts = StsSource(p.root_source, p.region, p.name, self.warnings,
                                  keys=self.keys())
        return self._sts

    def fetch(self) -> Credentials:
        keys = self.sts.keys
        return Credentials(keys.access_key_id, keys.secret_access_key, None, NEVER)

    def forget(self) -> bool:
        return False

    def long_term(self) -> bool:
        return True


class IdentityCenterRole:
    """An IAM Identity Center role as a profile of this tool's config (sso_session,
    sso_account_id, sso_role_name): GetRoleCredentials with the session's token, renewed with
    its refresh token first when it runs short, and a person asked to sign in again only when
    that cannot be (`sign_in`, as for SsoSource). The first hop of a chain when other profiles
    name it as their source_profile; its STS client has no AWS profile behind it."""

    def __init__(self, profile: Profile, warnings: list[str], sign_in=None):
        assert profile.sso is not None
        self.profile, self.warnings, self.sign_in = profile, warnings, sign_in
        self._sts = StsSource(profile.source_profile, profile.region or profile.sso["region"],
                              profile.name, warnings, anonymous=True)

    @property
    def sts(self) -> StsSource:
        return self._sts

    def session(self):
        from .sso import session_from_profile

        return session_from_profile(self.profile)

    def fetch(self) -> Credentials:
        from .sso import LoginNeeded, TokenFile
        from .sso.login import PersonSignIn, call_api, expect_fields, fresh_token, service_client

        sso = self.profile.sso
        assert sso is not None
        session = self.session()
        token = fresh_token(TokenFile(session), warnings=self.warnings,
                            sign_in=self.sign_in or PersonSignIn())
        portal = service_client("sso", session.region)
        answer = call_api(session, "GetRoleCredentials", lambda: portal.get_role_credentials(
            roleName=sso["role_name"], accountId=sso["account_id"],
            accessToken=token["accessToken"]), expected=("ForbiddenException",
                                                         "UnauthorizedException"))
        if answer == "ForbiddenException":
            raise AwsError(f"profile '{self.profile.name}': role {sso['role_name']} of account "
                           f"{sso['account_id']} is not (or no longer) assigned to you in "
                           f"{session.label}", "ask for the assignment, or remove the profile "
                           "('xaccount-credproc sso sync --prune' removes synced ones)")
        if answer == "UnauthorizedException":
            raise LoginNeeded(f"IAM Identity Center no longer accepts the login of "
                              f"{session.label} (signed out elsewhere?)",
                              f"sign in again: run {session.login_command}")
        role = expect_fields(session, "GetRoleCredentials", answer, "roleCredentials")
        found = role["roleCredentials"]
        try:
            return Credentials(found["accessKeyId"], found["secretAccessKey"],
                               found["sessionToken"], int(found["expiration"]) // 1000)
        except (KeyError, TypeError, ValueError):
            raise AwsError("IAM Identity Center answered GetRoleCredentials without "
                           "credentials: a proxy or captive portal in between?",
                           "check HTTPS_PROXY and AWS_ENDPOINT_URL_SSO") from None

    def forget(self) -> bool:
        return False

    def long_term(self) -> bool:
        return False


def source_for(profile: Profile, warnings: list[str], sign_in=None) -> Source:
    """The source a profile's chain starts from: an IAM Identity Center role of the TOML, a
    stored source by its config, else the AWS profile, SSO when it names an Identity Center
    login (`sign_in`: see SsoSource)."""
    if profile.chain[0].sso is not None:
        return IdentityCenterRole(profile.chain[0], warnings, sign_in)
    if profile.chain[0].stored_source is not None:
        return StoredSource(profile, warnings)
    sts = StsSource(profile.root_source, profile.region, profile.name, warnings)
    aws_profile = sts.scoped_config()
    if aws_profile.get("sso_session") or aws_profile.get("sso_start_url"):
        return SsoSource(sts, sign_in)
    return LongTermKeys(sts)


# -- sessions and roles ----------------------------------------------------------------------------


class MfaSession:
    """GetSessionToken signed by the source's long-term keys, with a code of the profile's MFA
    device: the MFA session that signs AssumeRole for every role behind the same source and
    device. Without a device, a stored source's own plain session (`credential-process
    --source`)."""

    def __init__(self, profile: Profile, source: Source, resolver: ChainResolver):
        self.profile, self.source, self.resolver = profile, source, resolver

    def fetch(self) -> Credentials:
        p, sts = self.profile, self.source.sts
        if not p.mfa_serial:
            return sts.get_session_token(serial=None, code=None, duration=p.mfa_session_duration)
        return self.resolver.with_code(p, lambda code: sts.get_session_token(
            serial=p.mfa_serial, code=code, duration=p.mfa_session_duration))

    def forget(self) -> bool:
        return False


class RoleHop:
    """AssumeRole of the profile's role, signed by `signer`: the source, the MFA session, or the
    credentials of the hop before (a chain). `own_code`: the profile's MFA code goes on this
    call itself. When AWS refuses a cached signer (revoked, expired), the signer is fetched
    afresh and the call made once more."""

    def __init__(self, profile: Profile, resolver: ChainResolver, signer: Provider, sts: StsSource,
                 *, own_code: bool = False, signer_name: str | None = None,
                 clamp: bool = False):
        """`signer_name`: how messages name a signer that is not the source itself.
        `clamp`: never served past the signer's own expiry (a chain's hop before)."""
        self.profile, self.resolver, self.signer, self.sts = profile, resolver, signer, sts
        self.own_code, self.signer_name, self.clamp = own_code, signer_name, clamp

    def fetch(self) -> Credentials:
        signer = self.signer.fetch()
        try:
            return self._assume(signer)
        except AwsError as e:
            if e.aws_code not in EXPIRED_CODES + INVALID_CODES or not self.signer.forget():
                raise
            debug.log(f"AWS refused {self.signer_name} ({e.aws_code}); getting a new one")
            return self._assume(self.signer.fetch())

    def forget(self) -> bool:
        return False

    def _assume(self, signer: Credentials) -> Credentials:
        p = self.profile
        tags, transitive = p.tags_to_send()

        def assume(code: str | None = None) -> Credentials:
            return self.sts.assume_role(
                role_arn=p.role_arn, session_name=p.role_session_name,
                duration=p.duration_seconds, external_id=p.external_id,
                serial=p.mfa_serial if code else None, code=code, signed_by=signer,
                signer=self.signer_name, source_identity=p.source_identity, tags=tags,
                transitive_tags=transitive)

        fresh = self.resolver.with_code(p, assume) if self.own_code else assume()
        if self.clamp and signer.expiration < fresh.expiration:
            # Never served past the session that signed it: by then the source is renewed.
            fresh = Credentials(fresh.access_key_id, fresh.secret_access_key,
                                fresh.session_token, signer.expiration)
        return fresh


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
        return RoleHop(p, resolver, resolver.chain(p.via), source.sts,
                       own_code=bool(p.mfa_serial),
                       signer_name=f"the session of profile '{p.via.name}'", clamp=True)
    if p.duration_seconds > SHARED_SESSION_MAX and not source.long_term():
        # A role session over an hour needs AssumeRole signed by long-term keys: AWS refuses one
        # signed by temporary credentials. Said before the call, naming the real rule.
        raise ConfigError(
            f"profile '{p.name}': duration_seconds {p.duration_seconds} is over "
            f"{SHARED_SESSION_MAX}, but source profile '{p.root_source}' has temporary "
            "credentials (SSO, a role or another tool's session), and AWS limits a role "
            "assumed with temporary credentials to 1 hour",
            f"set duration_seconds = {SHARED_SESSION_MAX} or less for '{p.name}', or use a "
            "source with long-term IAM user keys")
    if not p.mfa_serial:
        return RoleHop(p, resolver, source, source.sts)
    reason = _why_not_mfa_session(p, resolver, source)
    if reason is None:
        return RoleHop(p, resolver, resolver.mfa_session(p, source), source.sts,
                       signer_name="the cached MFA session")
    debug.log(f"MFA goes on AssumeRole itself: {reason}")
    return RoleHop(p, resolver, source, source.sts, own_code=True)


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
