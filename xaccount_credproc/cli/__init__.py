"""The command layer: arguments, exit codes and the one line a user reads when something fails.

One module per command (as aws-vault's cli/ has), each with NAME, SUMMARY, add_arguments(parser)
and run(args). Every command is parsed by argparse, except the exact forms in which
~/.aws/config runs `credential-process`, a kubeconfig runs `eks-token` and a prompt runs
`shell prompt`: they run on every `aws`, kubectl or shell command, and argparse (with the
gettext, shutil and locale imports its formatter brings) costs more than the whole cache hit,
so `_fast.exact` reads them. Their cache hit is served before anything else is imported
(`_fast.served`, credentials/hit.py), else the full path runs; anything else goes to argparse
(parser.py). A shell's Tab (argcomplete's `_ARGCOMPLETE`) goes to _tab.py before anything else.
Handlers import what they need when they run.
"""

import sys

__all__ = ["COMMANDS", "main"]


def __getattr__(name: str):
    if name == "COMMANDS":  # the command modules, for the parser, the manual and the tests
        from ._common import COMMANDS

        return COMMANDS
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from ._fast import served

    answered = served(args)
    if answered is not None:
        return answered
    try:
        return _main(args)
    except BrokenPipeError:
        import os

        # The reader went away (e.g. `| head`); nothing useful is left to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def quiet_library_warnings() -> None:
    """The libraries this tool imports on a miss may warn (a deprecation in Debian's pyOpenSSL
    when botocore imports it): not the user's business, and the AWS CLI shows all of stderr
    as the helper's error. Shown with --debug. The warnings module costs half a millisecond to
    import, so a hit never imports it: where nothing has yet, the filter is left for it in
    sys.warnoptions, which it reads when it is first imported."""
    if "warnings" in sys.modules:
        import warnings

        warnings.simplefilter("ignore")
    else:
        sys.warnoptions.append("ignore")


def _main(argv: list[str]) -> int:
    import os

    from .. import debug
    from ..errors import UserError
    from ._common import EXIT_INTERRUPTED, UsageError, fail

    if "_ARGCOMPLETE" in os.environ:  # a Tab in a shell with our completion script
        from ._tab import complete

        complete()
    from . import credential_process

    args, run = credential_process.parse_exactly(argv), credential_process.run
    if args is None and "eks-token" in argv:  # kubectl's exec plugin: the same fast start
        from . import eks_token

        args, run = eks_token.parse_exactly(argv), eks_token.run
    elif args is None and "prompt" in argv:  # a shell prompt's line, at every command line
        from . import shell

        args, run = shell.parse_exactly(argv), shell.run
    if args is None:
        try:
            from .parser import parse

            args, run = parse(argv)
        except UsageError as e:
            fail(str(e))
            return e.exit_code
        except SystemExit as e:  # --help and --version printed what was asked
            return e.code if isinstance(e.code, int) else 0
    if args.debug:
        debug.enabled = True
    if not debug.enabled:
        quiet_library_warnings()
    try:
        return run(args)
    except UserError as e:
        if debug.enabled:
            import traceback

            traceback.print_exc()
        fail(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as e:  # never a traceback (it could show more than we mean to) by default
        if debug.enabled:
            import traceback

            traceback.print_exc()
        fail(f"internal error ({type(e).__name__}); rerun with --debug and report it")
        return 70
