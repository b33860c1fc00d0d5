"""`shell-init bash|zsh|fish`: the `xcp` function (shell/scripts.py), for an rc file to eval."""

NAME = "shell-init"
SUMMARY = "print the 'xcp' shell function (switch a shell's profile, a picker, a prompt line)"


def add_arguments(parser) -> None:
    from ..shell.scripts import SHELLS

    parser.add_argument("shell", choices=SHELLS, metavar="SHELL",
                        help="bash, zsh or fish: eval \"$(xaccount-credproc shell-init bash)\" "
                             "in ~/.bashrc (zsh: ~/.zshrc; fish: xaccount-credproc shell-init "
                             "fish | source, in config.fish)")


def run(args) -> int:
    import sys

    from ..config.stanzas import helper_command
    from ..shell.scripts import script
    from ._common import config_path

    line = helper_command(config_path(args), "shell")
    at = line.index("shell")  # the options after it (--config) go before any command
    sys.stdout.write(script(args.shell, line[:at] + line[at + 1:]))
    return 0
