"""Checked by mypy (tests/test_types.py), never run: the MFA code sources are CodeSources, the
sign-ins SignIns and the logins a person can make again SignInSessions, so the resolver, the
credential server and the prompts agree."""

from xaccount_credproc.credentials.login.flows import LoginSignIn
from xaccount_credproc.credentials.mfa_codes import CodeSource
from xaccount_credproc.credentials.sign_in import PersonSignIn, SignIn, SignInSession
from xaccount_credproc.credentials.sso.login import SsoSignIn
from xaccount_credproc.prompt.mfa import MfaCodeSource
from xaccount_credproc.server.supply import JobMfa, JobSignIn


def every_code_source_is_one(person: MfaCodeSource, job: JobMfa) -> list[CodeSource]:
    return [person, job]


def every_sign_in_is_one(person: PersonSignIn, job: JobSignIn) -> list[SignIn]:
    return [person, job]


def every_login_can_be_signed_in_again(sso: SsoSignIn, login: LoginSignIn) -> list[SignInSession]:
    return [sso, login]
