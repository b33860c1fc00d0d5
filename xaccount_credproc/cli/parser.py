"""The argparse side of the command line: one parser for parsing, shell completion (_tab.py) and
the man page (generated from it at build time by scripts/manpage_parser.py), and the options
and argument types several commands share (whole seconds, --name-template). Never on the
credential_process path (see cli/__init__.py)."""

from ._common import COMMANDS, PROG, UsageError


def without_secrets(message: str) -> str:
    """argparse quotes what it did not understand; a key, secret or MFA code pasted onto the
    command line by mistake must not reach stderr (or the logs that keep it)."""
    import re

    message = re.sub(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", r"\1… (hidden)", message)
    message = re.sub(r"[A-Za-z0-9/+=_-]{30,}", "(hidden)", message)
    return re.sub(r"(?<![\w.-])\d{6}(?![\w.-])", "(hidden)", message)


def seconds(value: str) -> int:
    """An argparse type: a whole number of seconds."""
    import argparse

    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of seconds") from None


def add_name_template(parser, when: str = "") -> None:
    """--name-template, the one option of every discovery (init --from-organization, sso sync);
    --template is what sso sync called it before, kept as a hidden alias."""
    import argparse

    from ..discovery.naming import OPTION

    parser.add_argument(OPTION, metavar="TEMPLATE",
                        help=f"{when}profile names, from {{account_name}}, {{account_id}}, "
                             "{role_name} and, for sso sync, {session} (default "
                             "{account_name}-{role_name})")
    parser.add_argument("--template", dest="name_template", help=argparse.SUPPRESS)


def parse(argv: list[str]):
    """(args, handler) through argparse. Raises UsageError (one line) or SystemExit (help)."""
    namespace = build_parser().parse_args(argv)
    return namespace, namespace.handler


def build_parser(for_manual: bool = False):
    """The whole command line as an argparse parser: for parsing, shell completion
    (cli/completion.py) and, `for_manual`, the man page, which is generated from it at build
    time (scripts/manpage_parser.py) with a section per command."""
    import argparse
    import importlib

    class Parser(argparse.ArgumentParser):
        def error(self, message):  # one line, like every other error, instead of usage + error
            raise UsageError(without_secrets(message), f"see '{self.prog} --help'")

    modules = [importlib.import_module(f"{__package__}.{name}") for name in COMMANDS]
    common = Parser(add_help=False)
    _global_options(common, argparse.SUPPRESS)  # after the command: only when given
    width = max(len(m.NAME) for m in modules)
    parser = Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=f"{PROG} [-h] [--version] [--config PATH] [--debug] COMMAND [options]",
        description="AWS credential_process helper for cross-account roles with ExternalId and "
                    "MFA, cached in the OS keyring.\n\ncommands:\n" + "\n".join(
                        f"  {m.NAME.ljust(width)}  {m.SUMMARY}" for m in modules),
        epilog=f"'{PROG} COMMAND --help' describes one command.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    _global_options(parser, None)
    # --help lists the commands in the description, one line each; the manual gives each its
    # own section.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     help="a command" if for_manual else argparse.SUPPRESS)
    for module in modules:
        sub = commands.add_parser(module.NAME, help=module.SUMMARY, description=module.SUMMARY,
                                  parents=[common], prog=f"{PROG} {module.NAME}")
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def _global_options(parser, default) -> None:
    group = parser.add_argument_group("options (any command)")
    group.add_argument("--config", metavar="PATH", default=default,
                       help="TOML config file (default: $XACCOUNT_CREDPROC_CONFIG, else "
                            "~/.config/xaccount-credproc/config.toml)")
    group.add_argument("--debug", action="store_true",
                       default=False if default is None else default,
                       help="explain each step on stderr (never secrets); show tracebacks")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xaccount-credproc")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"
