"""`shell check|pick|prompt|names`: what the `xcp` function asks (shell/). `shell prompt` is read
without argparse: a prompt runs it at every command line, at a cache hit's cost."""

import sys

from ._common import Args

NAME = "shell"
SUMMARY = "what the 'xcp' function asks: check a profile, pick one, a prompt line, the names"


def add_arguments(parser) -> None:
    from ._common import add_profile_option

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="fetch a profile's credentials now (MFA asked now "
                                             "if needed); fail unless AWS_PROFILE would work")
    add_profile_option(check)
    actions.add_parser("pick", help="the picker, on the terminal; the chosen name on stdout")
    prompt = actions.add_parser("prompt", help="the profile and its cached credentials' time "
                                               "left (no AWS call)")
    add_profile_option(prompt)
    actions.add_parser("names", help="the profile names, one per line")


def run(args) -> int:
    from ._common import config_path

    if args.action == "prompt":
        from ..shell.status import prompt_line

        sys.stdout.write(prompt_line(config_path(args), args.profile) + "\n")
        return 0
    if args.action == "check":
        from ..config.snapshot import load_profile
        from ..shell.status import check_served
        from ._common import role_credentials

        load_profile(config_path(args), args.profile, [])  # an unknown profile, said as such
        check_served(args.profile)  # before an MFA prompt for a switch that could not work
        role_credentials(args)
        return 0
    from ..shell.status import rows

    if args.action == "pick":
        from ..shell.picker import pick

        print(pick(rows(config_path(args))))
        return 0
    for name, _, _ in rows(config_path(args)):
        print(name)
    return 0


def parse_exactly(argv: list[str]):
    """`[--config PATH] shell prompt --profile NAME` without argparse, or None."""
    from ._fast import exact

    values = exact(argv, (NAME, "prompt"), ("--profile",))
    if values is None or not values["profile"]:
        return None
    return Args(**values, action="prompt", source=None)
