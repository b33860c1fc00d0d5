"""One Tab (argcomplete's protocol): the whole parser, argcomplete, the answer on fd 8, exit.
Reached from cli.main when `_ARGCOMPLETE` is set, before anything else runs."""

import os


def complete() -> None:
    """Answer one Tab (argcomplete's protocol) and exit."""
    import argcomplete

    from .parser import build_parser

    parser = build_parser()
    # Options when a "-" is typed; names and commands otherwise.
    argcomplete.autocomplete(parser, always_complete_options=False)
    os._exit(1)  # not a completion request after all: never run a command from here
