"""`completion bash|zsh|fish`: the shell's completion script, and what a Tab asks for.

argcomplete does the work for all three shells: the script it prints runs the helper again with
`_ARGCOMPLETE` set, and `cli.main` hands such a run to `complete()` before anything else (the
`credential-process` path never imports argcomplete). Profile, source and client names are read
from the TOML and the server's directory at each Tab; a broken config completes nothing and
prints nothing.
"""

import os
import sys

NAME = "completion"
SUMMARY = "print the shell completion script (bash, zsh or fish)"
SHELLS = ("bash", "zsh", "fish")


def add_arguments(parser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args) -> int:
    import argcomplete

    from ._common import PROG

    sys.stdout.write(argcomplete.shellcode([PROG], shell=args.shell))
    return 0


def complete() -> None:
    """Answer one Tab (argcomplete's protocol) and exit."""
    import argcomplete

    from . import build_parser

    parser = build_parser()
    # Options when a "-" is typed; names and commands otherwise.
    argcomplete.autocomplete(parser, always_complete_options=False)
    os._exit(1)  # not a completion request after all: never run a command from here


# -- what names a Tab offers (never raises, never prints) -----------------------------------------


def _config(parsed_args):
    from ..config import loader
    from ..config.paths import config_path

    return loader.load(config_path(getattr(parsed_args, "config", None)), lenient=True)


def profile_names(prefix="", parsed_args=None, **_):
    try:
        return [n for n in _config(parsed_args).names() if n.startswith(prefix)]
    except BaseException:  # a broken config, an unreadable file: nothing to offer
        return []


def source_names(prefix="", parsed_args=None, **_):
    try:
        return [n for n in sorted(_config(parsed_args).sources) if n.startswith(prefix)]
    except BaseException:
        return []


def client_ids(prefix="", **_):
    try:
        from ..server import state

        return [c.id for c in state.saved_clients() if c.id.startswith(prefix)]
    except BaseException:
        return []
