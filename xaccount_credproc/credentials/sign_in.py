"""A person signing in again, for every kind of login a source may stand on: IAM Identity
Center (`sso/`) and AWS Sign-In's console credentials (`login/`).

Each kind of login is a `SignInSession`: what it is called in messages, the command that
signs in, and its two ways in (the browser on this computer, or something a person does at
this terminal: a device code to approve elsewhere, a code to paste back). `SignIn` is who
signs in when a source can no longer renew its login without a person: `PersonSignIn` (the
person at this terminal or desktop) for `credential-process`, `server.supply.JobSignIn` (the
browser once, never in a background renewal) for the credential server.

Nothing here is on the cache-hit path.
"""

import contextlib
import os
from collections.abc import Callable
from typing import Protocol

from .. import debug
from ..errors import UserError

# What a flow is told to say to the person (one line), and what it asks for a line typed back.
Say = Callable[[str], None]
Ask = Callable[[str], str]
# A login made another way meanwhile (another terminal, the AWS CLI): its document, or None.
Elsewhere = Callable[[], "dict | None"]


# The kinds of sign-in (SignInSession.kind).
IDENTITY_CENTER = "IAM Identity Center"
SIGN_IN = "AWS Sign-In"


class LoginNeeded(UserError):
    """No usable login and none can be had without a person. `kind`: of which sign-in (the
    credential server names it in its answer)."""

    exit_code = 3

    def __init__(self, what: str, fix: str = "", kind: str = IDENTITY_CENTER):
        super().__init__(what, fix)
        self.kind = kind


class SignInSession(Protocol):
    """A login a person can make again: `credentials.sso.login.SsoSignIn` (IAM Identity
    Center), `credentials.login.flows.LoginSignIn` (AWS Sign-In)."""

    @property
    def kind(self) -> str:
        """Which sign-in ("IAM Identity Center", "AWS Sign-In")."""
        ...

    @property
    def label(self) -> str:
        """How messages name it ("sso-session 'corp'", "login 'signedin'")."""
        ...

    @property
    def login_command(self) -> str:
        """The command a person runs to sign in, quoted for a message."""
        ...

    def signed_in_elsewhere(self) -> Elsewhere: ...

    def browser_login(self, say: Say, elsewhere: Elsewhere) -> dict:
        """Signing in through the browser of this computer (opened here)."""
        ...

    def terminal_login(self, say: Say, ask: Ask, elsewhere: Elsewhere) -> dict:
        """Signing in with only this terminal: a device code to approve on any device, or a
        URL to open anywhere and a code to paste back (`ask`)."""
        ...


class SignIn(Protocol):
    """Who signs in again when a login can no longer be renewed without a person. Returns the
    new login's document, or raises LoginNeeded (`why`, or why it could not be)."""

    def __call__(self, session: SignInSession, why: LoginNeeded) -> dict: ...


class PersonSignIn:
    """Signing in again, started by `credential-process` itself: once for N callers (it runs
    under the login's lock, as an MFA prompt under its key's lock). With a browser at hand (a
    desktop, $BROWSER) the browser login, out of band for an IDE or a terminal alike; else, on a
    terminal, the terminal's way in; else nobody to ask."""

    def __init__(self, tty_path: str = "/dev/tty"):
        self.tty_path = tty_path

    def __call__(self, session: SignInSession, why: LoginNeeded) -> dict:
        from ..prompt.notify import notify
        from ..prompt.terminal import open_terminal
        from ..web.opener import browser_available

        fd = open_terminal(self.tty_path)
        desktop = browser_available()
        if fd is None and not desktop:
            raise LoginNeeded(f"{why.what}, and there is no terminal or browser here to sign "
                              "in with", f"run {session.login_command}", session.kind)

        def say(line: str) -> None:
            debug.log(line.split(": http")[0])  # a URL is for the person, not a log
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.write(fd, f"xaccount-credproc: {line}\r\n".encode())
            else:
                notify("Sign in to AWS", line)

        def ask(prompt: str) -> str:
            from ..prompt.terminal import prompt_timeout, read_line

            assert fd is not None  # asked only by a terminal login
            with open(fd, "r+b", buffering=0, closefd=False) as tty:
                return read_line(tty, f"xaccount-credproc: {prompt}: ", prompt_timeout(),
                                 what="verification code")

        elsewhere = session.signed_in_elsewhere()
        try:
            if desktop:
                return session.browser_login(say, elsewhere)
            return session.terminal_login(say, ask, elsewhere)
        finally:
            if fd is not None:
                os.close(fd)
