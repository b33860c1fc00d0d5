"""Sources that are AWS profiles, resolved by botocore's own providers: long-term keys (or
another tool's session) and IAM Identity Center logins."""

from .. import Credentials
from ..source_session import SourceSession
from .interface import NEVER

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..sign_in import SignIn


class _AwsProfileSource:
    """An AWS profile's credentials through botocore's own providers."""

    def __init__(self, session: SourceSession):
        self._session = session
        self._credentials: Credentials | None = None

    @property
    def session(self) -> SourceSession:
        return self._session

    def fetch(self) -> Credentials:
        if self._credentials is None:
            frozen = self._session.source_credentials()
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

    def __init__(self, session: SourceSession, sign_in: "SignIn | None" = None):
        """`sign_in(session, why)`: a person signing in again when the token cannot be renewed
        (None: the person at this terminal or desktop, credentials/sign_in.PersonSignIn)."""
        super().__init__(session)
        self.sign_in = sign_in

    def fetch(self) -> Credentials:
        if self._credentials is None:
            session = self._session.scoped_config().get("sso_session")
            if session:  # legacy profiles (sso_start_url alone) have no refresh token
                from ..sign_in import PersonSignIn
                from ..sso import TokenFile, session_named
                from ..sso.login import fresh_token

                fresh_token(TokenFile(session_named(session)), warnings=self._session.warnings,
                            sign_in=self.sign_in or PersonSignIn())
        return super().fetch()

    def long_term(self) -> bool:
        return False
