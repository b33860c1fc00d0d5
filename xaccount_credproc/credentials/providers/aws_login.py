"""A source that is an AWS Sign-In login (console credentials: `aws login`, `xaccount-credproc
login`): its 15-minute credentials, refreshed without a person under the login's lock
(credentials/login/)."""

from ...config import LoginSettings, Profile
from ...errors import ConfigError
from .. import Credentials
from ..source_session import SourceSession

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..login import LoginSession
    from ..sign_in import SignIn


def login_of(profile: Profile, aws_profile: dict | None) -> "LoginSession":
    """The login a chain starts from: the TOML's [logins.NAME] (`profile.login`), else the AWS
    profile's `login_session`, kept as the AWS CLI keeps it."""
    from ..login import LoginSession

    root = profile.chain[0]
    name = root.source_profile
    settings = root.login or LoginSettings(name=name)
    arn = (aws_profile or {}).get("login_session") or None
    region = settings.region or (aws_profile or {}).get("region") or profile.region
    return LoginSession(name, arn if settings.storage == "file" else None, region,
                        settings.storage, settings.keyring_backend)


class LoginSource:
    """An AWS Sign-In login as the first signer of a chain. Its credentials are temporary (15
    minutes): GetSessionToken is never signed with them, a role behind them takes its MFA
    code on its own AssumeRole, and a role session over an hour is refused before the call
    (AWS says nothing of a longer one; the emulator's switch tests both answers)."""

    def __init__(self, profile: Profile, warnings: list[str], sign_in: "SignIn | None" = None):
        root = profile.chain[0]
        self.profile, self.warnings, self.sign_in = profile, warnings, sign_in
        stored = root.login is not None and root.login.storage == "keyring"
        # A login kept in the keyring may have no AWS profile at all: every call is signed with
        # the credentials it is given, as an Identity Center role's chain is.
        self._session = SourceSession(root.source_profile, profile.region, profile.name,
                                      warnings, anonymous=stored)
        try:
            aws_profile = self._session.scoped_config()
        except ConfigError:  # a [logins.NAME] whose AWS profile `login` has not written yet
            self._session = SourceSession(root.source_profile, profile.region, profile.name,
                                          warnings, anonymous=True)
            aws_profile = {}
        self.login = login_of(profile, aws_profile)
        self._session.login = self.login.name
        self._credentials: Credentials | None = None
        self._stale = False

    @property
    def session(self) -> SourceSession:
        return self._session

    def fetch(self) -> Credentials:
        if self._credentials is None:
            from ..login import REFRESH_MARGIN, credentials_of
            from ..login.flows import fresh_login
            from ..sign_in import PersonSignIn

            # After AWS refused them (`forget`), no margin lets them through: renewed now.
            margin = 15 * 60 + 1 if self._stale else REFRESH_MARGIN
            document = fresh_login(self.login, margin, self.warnings,
                                   sign_in=self.sign_in or PersonSignIn())
            self._credentials = credentials_of(document)
        return self._credentials

    def forget(self) -> bool:
        self._credentials, self._stale = None, True
        return True

    def long_term(self) -> bool:
        return False
