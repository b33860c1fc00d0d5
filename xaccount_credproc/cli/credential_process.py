"""`credential-process --profile NAME`: what ~/.aws/config runs, on every `aws` command."""

import sys

from ._common import role_credentials

NAME = "credential-process"
SUMMARY = ("print a profile's role credentials as credential_process JSON (what ~/.aws/config "
           "runs)")


def add_arguments(parser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--profile", metavar="NAME", help="profile name in the TOML config")
    which.add_argument("--source", metavar="NAME",
                       help="a stored source: its IAM user's own session (GetSessionToken)")


def run(args) -> int:
    if getattr(args, "source", None):
        return _serve_source(args)
    profile, credentials = role_credentials(args)
    sys.stdout.write(credentials.process_json(profile.account_id) + "\n")
    sys.stdout.flush()
    return 0


def _serve_source(args) -> int:
    """`aws --profile NAME` for a stored source's IAM user: a session from GetSessionToken, so
    the long-term keys never leave the helper."""
    from ..provider import CredentialProvider
    from ..reentry import check_not_reentered
    from ..resolved import load_profile
    from ._common import config_path, warn

    check_not_reentered(args.source)
    warnings: list[str] = []
    try:
        profile = load_profile(config_path(args), args.source, warnings, source=True)
        provider = CredentialProvider(profile, warnings=warnings)
        credentials = provider.user_session()
    finally:
        warn(warnings)
    sys.stdout.write(credentials.process_json() + "\n")
    sys.stdout.flush()
    return 0


def parse_exactly(argv: list[str]):
    """The arguments of `[--config PATH] [--debug] credential-process --profile NAME [...]`
    without argparse (whose import costs more than a whole cache hit), or None for anything
    else: help, a typo or an unknown option go to argparse, which explains them."""
    values = {"config": None, "debug": False, "profile": None, "source": None}
    seen_command = False
    index = 0
    while index < len(argv):
        token = argv[index]
        name, has_value, inline = token.partition("=")
        if token == NAME and not seen_command:
            seen_command = True
        elif token == "--debug":
            values["debug"] = True
        elif name in ("--config", "--profile", "--source") and (seen_command
                                                                or name == "--config"):
            if has_value:
                value = inline
            elif index + 1 < len(argv):
                index += 1
                value = argv[index]
            else:
                return None
            values[name[2:]] = value
        else:
            return None
        index += 1
    if not seen_command or values["config"] == "" or bool(values["profile"]) == bool(
            values["source"]):
        return None
    from . import Args

    return Args(**values)
