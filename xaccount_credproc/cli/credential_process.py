"""`credential-process --profile NAME`: what ~/.aws/config runs, on every `aws` command."""

import sys

from ._common import add_profile_option, role_credentials

NAME = "credential-process"
SUMMARY = ("print a profile's role credentials as credential_process JSON (what ~/.aws/config "
           "runs)")


def add_arguments(parser) -> None:
    add_profile_option(parser)


def run(args) -> int:
    profile, credentials = role_credentials(args)
    sys.stdout.write(credentials.process_json(profile.account_id) + "\n")
    sys.stdout.flush()
    return 0


def parse_exactly(argv: list[str]):
    """The arguments of `[--config PATH] [--debug] credential-process --profile NAME [...]`
    without argparse (whose import costs more than a whole cache hit), or None for anything
    else: help, a typo or an unknown option go to argparse, which explains them."""
    values = {"config": None, "debug": False, "profile": None}
    seen_command = False
    index = 0
    while index < len(argv):
        token = argv[index]
        name, has_value, inline = token.partition("=")
        if token == NAME and not seen_command:
            seen_command = True
        elif token == "--debug":
            values["debug"] = True
        elif name in ("--config", "--profile") and (seen_command or name == "--config"):
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
    if not seen_command or not values["profile"] or values["config"] == "":
        return None
    from . import Args

    return Args(**values)
