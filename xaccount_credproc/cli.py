"""The command layer: arguments, exit codes and the one line a user reads when something fails.

Subcommand handlers import what they need when they run, so `credential-process` on a cache hit
never pays for boto3 or the commands it does not use.
"""

import argparse
import os
import sys

from . import debug
from .errors import UserError

PROG = "xaccount-credproc"
EXIT_INTERRUPTED = 130


def cmd_credential_process(args) -> int:
    from . import config, sts
    from .provider import fetch_role_credentials

    sts.check_not_reentered(args.profile)
    profile = config.load(_config_path(args)).resolve(args.profile)
    credentials = fetch_role_credentials(profile)
    sys.stdout.write(credentials.process_json() + "\n")
    sys.stdout.flush()
    return 0


def _config_path(args):
    from .paths import config_path

    return config_path(getattr(args, "config", None))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line, like every other failure, instead of argparse's usage block.
        _fail(f"{message}; see '{self.prog} --help'")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="TOML config file (default: $XACCOUNT_CREDPROC_CONFIG, else "
                             "~/.config/xaccount-credproc/config.toml)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="explain each step on stderr (never secrets); show tracebacks")

    parser = _Parser(
        prog=PROG, parents=[common],
        description="AWS credential_process helper for cross-account roles with ExternalId and "
                    "MFA, cached in the OS keyring.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "credential-process", parents=[common],
        help="print a profile's role credentials as credential_process JSON",
        description="Called by the AWS CLI and SDKs through credential_process in ~/.aws/config.")
    p.add_argument("--profile", required=True, help="profile name in the TOML config")
    p.set_defaults(handler=cmd_credential_process)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "debug", False):
        debug.enabled = True
    try:
        return args.handler(args)
    except UserError as e:
        if debug.enabled:
            import traceback

            traceback.print_exc()
        _fail(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The caller stopped reading (e.g. `| head`); nothing useful is left to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as e:  # never a traceback (it could show more than we mean to) by default
        if debug.enabled:
            import traceback

            traceback.print_exc()
        _fail(f"internal error ({type(e).__name__}); rerun with --debug and report it")
        return 70


def _fail(message: str) -> None:
    # One line: the AWS CLI shows our whole stderr after "Error when retrieving credentials from
    # custom-process:".
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
