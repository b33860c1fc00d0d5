"""The STS calls of a chain: the shared MFA session (GetSessionToken with one code) and a role
hop (AssumeRole signed by a source, the MFA session or the hop before)."""

from ... import debug
from ...config import Profile
from ...errors import AwsError
from .. import Credentials
from ..source_session import EXPIRED_CODES, INVALID_CODES, SourceSession
from .interface import ChainResolver, Provider, Source


class MfaSession:
    """GetSessionToken signed by the source's long-term keys, with a code of the profile's MFA
    device: the MFA session that signs AssumeRole for every role behind the same source and
    device. Without a device, a stored source's own plain session (`credential-process
    --source`)."""

    def __init__(self, profile: Profile, source: Source, resolver: ChainResolver):
        self.profile, self.source, self.resolver = profile, source, resolver

    def fetch(self) -> Credentials:
        p, sts = self.profile, self.source.session
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

    def __init__(self, profile: Profile, resolver: ChainResolver, signer: Provider, session: SourceSession,
                 *, own_code: bool = False, signer_name: str | None = None,
                 clamp: bool = False):
        """`signer_name`: how messages name a signer that is not the source itself.
        `clamp`: never served past the signer's own expiry (a chain's hop before)."""
        self.profile, self.resolver, self.signer, self.session = profile, resolver, signer, session
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
            return self.session.assume_role(
                role_arn=p.role_arn, session_name=p.role_session_name,
                duration=p.duration_seconds, external_id=p.external_id,
                serial=p.mfa_serial if code else None, code=code, signed_by=signer,
                signer=self.signer_name, source_identity=p.source_identity, tags=tags,
                transitive_tags=transitive, profile=p.name, asked=self.resolver.profile.name)

        fresh = self.resolver.with_code(p, assume) if self.own_code else assume()
        if self.clamp and signer.expiration < fresh.expiration:
            # Never served past the session that signed it: by then the source is renewed.
            fresh = Credentials(fresh.access_key_id, fresh.secret_access_key,
                                fresh.session_token, signer.expiration)
        return fresh
