"""The command layer: arguments, exit codes and the one line a user reads when something fails.

Subcommand handlers import what they need when they run, so `credential-process` on a cache hit
never pays for boto3 or the commands it does not use.
"""

import argparse
import os
import sys

from . import debug
from .errors import ConfigError, UserError


class UsageError(ConfigError):
    pass

PROG = "xaccount-credproc"
EXIT_INTERRUPTED = 130


def cmd_credential_process(args) -> int:
    from .provider import CredentialProvider
    from .resolved import load_profile
    from .sts import check_not_reentered

    check_not_reentered(args.profile)
    provider = CredentialProvider(load_profile(_config_path(args), args.profile))
    try:
        credentials = provider.credentials()
    finally:
        _warn(provider.warnings)
    sys.stdout.write(credentials.process_json() + "\n")
    sys.stdout.flush()
    return 0


def cmd_list(args) -> int:
    import time

    from . import config
    from .provider import CredentialProvider
    from .store import KeyringStore, StoreError

    loaded = config.load(_config_path(args))
    store = KeyringStore()
    rows = [("PROFILE", "ROLE", "CACHED", "TIME LEFT", "MFA SESSION")]
    now = time.time()
    for name in loaded.names():
        profile = loaded.resolve(name)
        provider = CredentialProvider(profile, store=store)
        try:
            role, session = provider.cached()
        except StoreError as e:
            _warn([str(e)])
            return 1
        if profile.cache == "none":
            state, left = "off", "-"
        elif role is None:
            state, left = "no", "-"
        else:
            seconds = role.seconds_left(now)
            state = ("yes" if seconds > profile.refresh_margin
                     else "expired" if seconds <= 0 else "refresh due")
            left = _duration(seconds)
        mfa = "-" if not profile.mfa_serial else (
            _duration(session.seconds_left(now)) if session else "none")
        rows.append((name, profile.role_arn, state, left, mfa))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_clear(args) -> int:
    from . import config
    from .provider import CredentialProvider
    from .store import KeyringStore, StoreError

    if bool(args.name) == bool(args.all):
        raise UsageError("name one profile or use --all", "e.g. 'xaccount-credproc clear prod'")
    loaded = config.load(_config_path(args))
    names = loaded.names() if args.all else [loaded.resolve(args.name).name]
    store = KeyringStore()
    removed = 0
    try:
        for name in names:
            removed += CredentialProvider(loaded.resolve(name), store=store).clear()
    except StoreError as e:
        _warn([str(e)])
        return 1
    what = "all profiles" if args.all else f"profile '{args.name}'"
    print(f"removed {removed} cached entr{'y' if removed == 1 else 'ies'} for {what} "
          "(role credentials and MFA sessions)")
    return 0


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _warn(messages) -> None:
    for message in dict.fromkeys(messages):  # once each, in order
        print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


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

    p = commands.add_parser("list", parents=[common],
                            help="profiles with their cache state and time left (no secrets)")
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser("clear", parents=[common],
                            help="remove cached credentials (and MFA sessions) from the keyring")
    p.add_argument("name", nargs="?", help="the profile whose entries to remove")
    p.add_argument("--all", action="store_true", help="remove the entries of every profile")
    p.set_defaults(handler=cmd_clear)
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
