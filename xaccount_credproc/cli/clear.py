"""`clear NAME` / `clear --all`: remove cached credentials and MFA sessions."""

from ._common import UsageError, config_path, store_for, warn

NAME = "clear"
SUMMARY = "remove cached credentials and MFA sessions from the keyring"


def add_arguments(parser) -> None:
    from ._names import profile_names

    parser.add_argument("name", metavar="NAME", nargs="?",
                        help="the profile whose entries to remove").completer = profile_names
    parser.add_argument("--all", action="store_true", help="remove the entries of every profile")


def run(args) -> int:
    from ..backends import NOT_CACHED, StoreError
    from ..config import loader
    from ..credentials.resolver import Resolver

    if bool(args.name) == bool(args.all):
        raise UsageError("name one profile or use --all", "e.g. 'xaccount-credproc clear prod'")
    loaded = loader.load(config_path(args), lenient=True)
    names = loaded.names() if args.all else [loaded.resolve(args.name).name]
    stores: dict = {}
    removed = 0
    try:
        for name in names:
            profile = loaded.resolve(name)
            removed += Resolver(profile, store=store_for(profile, stores)).clear()
    except StoreError as e:
        warn([e.so(NOT_CACHED)])
        return 1
    from ..server.state import tell_cleared

    if tell_cleared(names):  # a running credential server drops its warm copies too
        print("the credential server drops its copies too")
    what = "all profiles" if args.all else f"profile '{args.name}'"
    print(f"removed {removed} cached entr{'y' if removed == 1 else 'ies'} for {what} "
          "(role credentials and MFA sessions)")
    if not args.all:
        dependents = [other for other in loaded.names()
                      if args.name in (hop.name for hop in loaded.resolve(other).chain[:-1])]
        if dependents:
            print(f"profiles assumed through '{args.name}': {', '.join(dependents)}; their "
                  "cached sessions stay valid until they expire (clear them too by name, or "
                  "with --all)")
    return 0
