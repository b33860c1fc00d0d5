"""`doctor`: check every precondition of a working setup."""

from ._common import config_path

NAME = "doctor"
SUMMARY = "check the config, AWS config, keyring, terminal and STS access"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from .. import doctor

    checks = doctor.run(config_path(args))
    for check in checks:
        print(check)
    failed = sum(c.status == doctor.FAIL for c in checks)
    print(f"{failed} problem{'s' if failed != 1 else ''} found" if failed else "all good")
    return 1 if failed else 0
