"""Errors a user can act on.

Every failure the user should see is a `UserError`: the command layer prints it as one line on
stderr and exits with its code; nothing else in the package prints errors. Messages never contain
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
