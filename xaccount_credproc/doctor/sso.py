"""doctor: each IAM Identity Center session of the AWS config, signed in or not, and whether
it can be renewed without a person (credentials/sso/); never the token."""

from .check import FAIL, OK, WARN, Check

REGISTRATION_WARNING = 7 * 86400


def sessions() -> list[Check]:
    from ..credentials import sso
    from ..errors import UserError

    try:
        found = sso.all_sessions()
    except UserError as e:
        return [Check(FAIL, f"IAM Identity Center: {e.what}", e.fix)]
    out = []
    for session in found:
        text, signed_in, renewable = sso.state(session)
        what = f"IAM Identity Center {session.label}: {text}"
        document = sso.TokenFile(session).read() or {}
        registration = sso.TokenFile.seconds_left(document, "registrationExpiresAt")
        if signed_in and renewable and registration < REGISTRATION_WARNING:
            out.append(Check(WARN, what, "its client registration ends within a week: sign in "
                             f"again then, {session.login_command}"))
        elif signed_in or renewable:
            out.append(Check(OK, what))
        else:
            out.append(Check(WARN, what, f"a person will be asked to sign in on next use; or "
                                         f"run {session.login_command} now"))
    return out
