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
    """The arguments of `[--config PATH] [--debug] credential-process --profile NAME` (or
    `--source NAME`) without argparse, or None for anything else (argparse explains it)."""
    from ._fast import exact

    values = exact(argv, (NAME,), ("--profile", "--source"))
    if values is None or bool(values["profile"]) == bool(values["source"]):
        return None
    return Args(**values)
