"""`completion bash|zsh|fish`: the shell's completion script.

argcomplete does the work for all three shells: the script it prints runs the helper again with
`_ARGCOMPLETE` set, and `cli.main` hands such a run to `_tab.complete()` before anything else (the
`credential-process` path never imports argcomplete). What names a Tab offers: `_names.py`.
"""

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
