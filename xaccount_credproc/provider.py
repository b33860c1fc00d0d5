"""Getting a profile's role credentials: ask for MFA where it applies, call STS."""

from .config import Profile
from .credentials import Credentials
from .mfa import TERMINAL_TRIES, MfaCodeSource
from .sts import MfaRejected, StsSource


def with_mfa_retries(mfa: MfaCodeSource, call):
    """Run `call(code)`; when AWS rejects the code and a person is typing, ask again."""
    rejected = False
    while True:
        code = mfa.code(rejected=rejected)
        try:
            return call(code)
        except MfaRejected:
            if not mfa.interactive or mfa.asked >= TERMINAL_TRIES:
                raise
            rejected = True


def fetch_role_credentials(profile: Profile, sts: StsSource | None = None,
                           mfa: MfaCodeSource | None = None) -> Credentials:
    sts = sts or StsSource(profile.source_profile, profile.region, profile.name)

    def assume(code: str | None) -> Credentials:
        return sts.assume_role(role_arn=profile.role_arn, session_name=profile.role_session_name,
                               duration=profile.duration_seconds,
                               external_id=profile.external_id, serial=profile.mfa_serial,
                               code=code)

    if not profile.mfa_serial:
        return assume(None)
    mfa = mfa or MfaCodeSource(profile.mfa_serial, profile.name, profile.mfa_process)
    return with_mfa_retries(mfa, assume)
