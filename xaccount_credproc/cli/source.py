"""`source add|import|rotate|remove|list`: an IAM user's long-term keys in the OS keyring.

Keys are asked for on the terminal (the secret without echo) or read from stdin, never taken from
the command line; they are checked with GetCallerIdentity before anything is stored. See
sources/ for where they live and how `rotate` survives a kill at any step.
"""

from ._common import config_path

NAME = "source"
SUMMARY = "keep an IAM user's long-term keys in the OS keyring: add, import, rotate, remove, list"


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="store an IAM user's keys (asked for, or read from "
                                         "stdin: two lines)")
    imported = actions.add_parser("import", help="move a profile's keys out of "
                                                 "~/.aws/credentials into the OS keyring")
    for sub in (add, imported):
        sub.add_argument("name", metavar="NAME", help="the source's name (source_profile)")
        sub.add_argument("--region", metavar="REGION", help="region of the STS endpoint")
        sub.add_argument("--mfa-serial", metavar="ARN", help="the user's MFA device")
        sub.add_argument("--volatile", action="store_true",
                         help="keep the keys in the kernel keyring, which forgets them at "
                              "reboot (where there is no desktop keyring and no vault)")
    add.add_argument("--aws-profile", action="store_true",
                     help="let 'init' write [profile NAME] served by the helper")
    rotate = actions.add_parser("rotate", help="replace the stored key with a new one (IAM)")
    from ._names import source_names

    rotate.add_argument("name", metavar="NAME").completer = source_names
    remove = actions.add_parser("remove", help="forget a stored source and its keys")
    remove.add_argument("name", metavar="NAME").completer = source_names
    actions.add_parser("list", help="stored sources: key (last 4), IAM user, age; no secrets")


def run(args) -> int:
    return {"add": _add, "import": _import, "rotate": _rotate, "remove": _remove,
            "list": _list}[args.action](args)


def _add(args) -> int:
    from ..credentials.stored.keys import mask
    from ..sources.add import add

    keys, into = add(config_path(args), args.name, args.region, args.mfa_serial,
                     args.aws_profile or None, args.volatile)
    print(f"stored the key {mask(keys.access_key_id)} of {keys.user_arn} in {into} as source "
          f"'{args.name}'")
    return 0


def _import(args) -> int:
    from ..credentials.stored.keys import mask
    from ..sources.importing import import_keys

    keys, credentials_file, into = import_keys(config_path(args), args.name, args.region,
                                               args.mfa_serial, args.volatile)
    print(f"moved the key {mask(keys.access_key_id)} of {keys.user_arn} from "
          f"{credentials_file} into {into} as source '{args.name}'; run "
          "'xaccount-credproc init' so that 'aws --profile "
          f"{args.name}' is served by the helper")
    return 0


def _rotate(args) -> int:
    from ..credentials.stored.keys import mask
    from ..sources.rotate import rotate

    done = rotate(config_path(args), args.name)
    gone = ", ".join(mask(k) for k in done.deleted) or "nothing"
    print(f"rotated source '{args.name}': the new key {mask(done.new.access_key_id)} is "
          f"stored and accepted; deleted in IAM: {gone}; {done.dropped} cached session(s) made "
          "with the old key dropped")
    return 0


def _remove(args) -> int:
    from ..sources.registry import remove

    removed = remove(config_path(args), args.name)
    print(f"removed source '{args.name}' ({'its keys' if removed else 'no keys were stored'}; "
          "the key still exists in IAM: delete it there if it is no longer needed)")
    return 0


def _list(args) -> int:
    from ..sources.registry import rows

    table = rows(config_path(args))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0
