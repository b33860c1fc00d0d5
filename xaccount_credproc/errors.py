"""Errors a user can act on.

Every failure the user should see is a `UserError`: the command layer prints it as one line on
stderr and exits with its code; nothing else in the package prints errors. A store's failure is
a `StoreError` (backends/): the caller decides what it means (a warning and no cache, another
store standing in, or a UserError for stored keys). Messages never contain
secrets: callers build them from names, ARNs and AWS error codes only.
"""


class UserError(Exception):
    """A failure with a message that says what went wrong and how to fix it."""

    exit_code = 1

    def __init__(self, what: str, fix: str = ""):
        super().__init__(what)
        self.what = what
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.what}; {self.fix}" if self.fix else self.what


class ConfigError(UserError):
    """The TOML config (or a command-line value) is invalid."""

    exit_code = 2


class ProfileNotFound(ConfigError):
    pass


class AwsError(UserError):
    """AWS (STS, the source credentials, the network) refused or failed."""

    exit_code = 3

    def __init__(self, what: str, fix: str = "", aws_code: str | None = None):
        super().__init__(what, fix)
        self.aws_code = aws_code  # the AWS error code, where AWS answered


class MfaError(UserError):
    """No MFA code could be obtained."""

    exit_code = 4


class StoreError(Exception):
    """A store failed: `what` failed (never what that means to the caller), `fix` how to mend
    it. `stand_in`: another store may stand in for this one for the rest of the run (it was the
    keyring library's own choice, and not the kernel keyring itself). `decode_error`: the
    backend found a value that is not text."""

    def __init__(self, what: str, fix: str, decode_error: bool = False,
                 stand_in: bool = False):
        super().__init__(what)
        self.what, self.fix = what, fix
        self.decode_error = decode_error
        self.stand_in = stand_in

    def __str__(self) -> str:
        return f"{self.what}; {self.fix}"

    def so(self, consequence: str) -> str:
        """The message with what the failure means to the caller: "WHAT, so CONSEQUENCE; FIX"."""
        return f"{self.what}, so {consequence}; {self.fix}"
