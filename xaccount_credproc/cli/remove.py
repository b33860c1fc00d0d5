"""`remove NAME`: remove a profile from the TOML config."""

from ._common import config_path, then_init

NAME = "remove"
SUMMARY = "remove a profile from the TOML config"


def add_arguments(parser) -> None:
    from ._names import profile_names

    parser.add_argument("name", metavar="NAME", help="the profile to remove").completer = \
        profile_names
    parser.add_argument("--init", action="store_true", help="then run init --prune")


def run(args) -> int:
    from ..config import toml_edit

    path = config_path(args)
    toml_edit.remove_profile(path, args.name)
    print(f"updated {path}: removed profile '{args.name}'")
    return then_init(args, path, "--prune")
