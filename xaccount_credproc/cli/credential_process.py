"""`credential-process --profile NAME`: what ~/.aws/config runs, on every `aws` command."""

import sys

from ._common import Args, role_credentials

NAME = "credential-process"
SUMMARY = ("print a profile's role credentials as credential_process JSON (what ~/.aws/config "
           "runs)")


def add_arguments(parser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    from ._names import profile_names, source_names

    which.add_argument("--profile", metavar="NAME",
                       help="profile name in the TOML config").completer = profile_names
    which.add_argument("--source", metavar="NAME",
                       help="a stored source: its IAM user's own session (GetSessionToken)"
                       ).completer = source_names


def run(args) -> int:
    profile, credentials = role_credentials(args)
    # A stored source's own session has no role, so no account to name.
    account = None if getattr(args, "source", None) else profile.account_id
    sys.stdout.write(credentials.process_json(account) + "\n")
    sys.stdout.flush()
    return 0


def parse_exactly(argv: list[str]):
    """The arguments of `[--config PATH] [--debug] credential-process --profile NAME [...]`
    without argparse (whose import costs more than a whole cache hit), or None for anything
    else: help, a typo or an unknown option go to argparse, which explains them."""
    values: dict[str, str | bool | None] = {"config": None, "debug": False, "profile": None,
                                            "source": None}
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
    return Args(**values)
