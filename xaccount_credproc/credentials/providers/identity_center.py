"""An IAM Identity Center role as a profile of this tool's config: GetRoleCredentials with the
session's token."""

from ...config import Profile
from ...errors import AwsError
from .. import Credentials
from ..source_session import SourceSession

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..sign_in import SignIn


class IdentityCenterRole:
    """An IAM Identity Center role as a profile of this tool's config (sso_session,
    sso_account_id, sso_role_name): GetRoleCredentials with the session's token, renewed with
    its refresh token first when it runs short, and a person asked to sign in again only when
    that cannot be (`sign_in`, as for SsoSource). The first hop of a chain when other profiles
    name it as their source_profile; its STS client has no AWS profile behind it."""

    def __init__(self, profile: Profile, warnings: list[str],
                 sign_in: "SignIn | None" = None):
        assert profile.sso is not None
        self.profile, self.warnings, self.sign_in = profile, warnings, sign_in
        self._session = SourceSession(profile.source_profile,
                                      profile.region or profile.sso.region, profile.name,
                                      warnings, anonymous=True)

    @property
    def session(self) -> SourceSession:
        return self._session

    def sso_session(self):
        from ..sso import session_from_profile

        return session_from_profile(self.profile)

    def fetch(self) -> Credentials:
        from ..sign_in import PersonSignIn
        from ..sso import LoginNeeded, TokenFile
        from ..sso.login import call_api, expect_fields, fresh_token, service_client

        sso = self.profile.sso
        assert sso is not None
        session = self.sso_session()
        token = fresh_token(TokenFile(session), warnings=self.warnings,
                            sign_in=self.sign_in or PersonSignIn())
        portal = service_client("sso", session.region)
        answer = call_api(session, "GetRoleCredentials", lambda: portal.get_role_credentials(
            roleName=sso.role_name, accountId=sso.account_id,
            accessToken=token["accessToken"]), expected=("ForbiddenException",
                                                         "UnauthorizedException"))
        if answer == "ForbiddenException":
            raise AwsError(f"profile '{self.profile.name}': role {sso.role_name} of account "
                           f"{sso.account_id} is not (or no longer) assigned to you in "
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
