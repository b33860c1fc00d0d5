"""`exec --profile NAME -- COMMAND [ARGS...]` / `exec --profile NAME --env` /
`exec --profile NAME --server -- COMMAND`."""

import os
import sys

from ..errors import UserError
from ._common import PROG, UsageError, add_profile_option, config_path, role_credentials

NAME = "exec"
SUMMARY = "run a command with a profile's credentials in its environment"


def add_arguments(parser) -> None:
    import argparse

    add_profile_option(parser)
    parser.add_argument("--env", action="store_true",
                        help="print export lines for eval instead of running a command")
    parser.add_argument("--server", action="store_true",
                        help="give the command the credential server (renewed credentials, "
                             "for commands that outlive a role session) instead of keys")
    parser.add_argument("remainder", metavar="-- COMMAND [ARGS...]", nargs=argparse.REMAINDER,
                        help="the command to run, after --")


def run(args) -> int:
    from ..credentials import execenv

    command = args.remainder[1:] if args.remainder[:1] == ["--"] else args.remainder
    if bool(args.env) == bool(command):
        raise UsageError("give either --env, or -- COMMAND [ARGS...]",
                         f"e.g. '{PROG} exec --profile prod -- aws s3 ls'")
    if args.env and args.server:
        raise UsageError("--env and --server do not go together",
                         f"for a server's variables use '{PROG} server-env'")
    profile, credentials = role_credentials(args)  # MFA, if needed, at the terminal now
    if args.server:
        from ..server.child import run_served

        return run_served(config_path(args), profile, credentials, command)
    if args.env:
        sys.stdout.write(execenv.shell_exports(credentials, profile.region))
        return 0
    env = execenv.child_environment(dict(os.environ), credentials, profile.region)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # Replace this process: the command's exit status and signals are the caller's to see.
        os.execvpe(command[0], command, env)  # noqa: S606 - by design, no shell
    except FileNotFoundError:
        raise UserError(f"command not found: {command[0]}", "check the name and PATH") from None
    except PermissionError:
        raise UserError(f"command not executable: {command[0]}",
                        "check its permissions") from None
    return 127  # pragma: no cover - execvpe does not return
