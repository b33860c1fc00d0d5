"""Checked by mypy (tests/test_types.py), never run: the MFA code sources are CodeSources and
the sign-ins SignIns, so the resolver, the credential server and the prompts agree."""

from xaccount_credproc.credentials.mfa_codes import CodeSource
from xaccount_credproc.credentials.sso import SignIn
from xaccount_credproc.credentials.sso.login import PersonSignIn
from xaccount_credproc.prompt.mfa import MfaCodeSource
from xaccount_credproc.server.supply import JobMfa, JobSignIn


def every_code_source_is_one(person: MfaCodeSource, job: JobMfa) -> list[CodeSource]:
    return [person, job]


def every_sign_in_is_one(person: PersonSignIn, job: JobSignIn) -> list[SignIn]:
    return [person, job]
