"""`server-revoke ID... | --all`: clients of the credential server lose their access at once."""

from ._common import PROG, UsageError

NAME = "server-revoke"
SUMMARY = "revoke credential server clients (their next request gets 401)"


def add_arguments(parser) -> None:
    from ._names import client_ids

    parser.add_argument("ids", metavar="ID", nargs="*",
                        help="client ids, as 'list' shows them").completer = client_ids
    parser.add_argument("--all", action="store_true", help="every client")


def run(args) -> int:
    from ..errors import ConfigError
    from ..server import state

    if bool(args.ids) == bool(args.all):
        raise UsageError("give client ids or --all", f"see '{PROG} list' for the ids")
    ids = [c.id for c in state.saved_clients()] if args.all else args.ids
    bad = [i for i in ids if not i.isalnum()]
    if bad:  # before anything is revoked
        raise ConfigError(f"'{bad[0]}' is not a client id", f"see '{PROG} list'")
    missing = [i for i in ids if not state.revoke(i)]
    print(f"revoked {len(ids) - len(missing)} client(s)")
    if missing:
        raise ConfigError(f"no such client: {', '.join(missing)}", f"see '{PROG} list'")
    return 0
