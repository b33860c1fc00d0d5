"""`init`: write the AWS config's managed stanzas (optionally after discovering the accounts of
an AWS Organization)."""


from ._common import PROG, UsageError, config_path, init_now, init_report, init_warnings
from .parser import add_name_template

NAME = "init"
SUMMARY = "write the AWS config's profile stanzas for every TOML profile"


def add_arguments(parser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="print the change as a unified diff; write nothing")
    parser.add_argument("--force", action="store_true",
                        help="replace hand-written AWS profiles of the same names")
    parser.add_argument("--prune", action="store_true",
                        help="remove managed stanzas whose profile left the TOML")
    parser.add_argument("--from-organization", action="store_true",
                        help="first add a TOML profile per ACTIVE account of the AWS Organization")
    parser.add_argument("--role-name", metavar="ROLE",
                        help="with --from-organization: the role in each account")
    parser.add_argument("--source-profile", metavar="PROFILE",
                        help="with --from-organization: the profile that lists the accounts and "
                             "assumes the roles")
    add_name_template(parser, "with --from-organization: ")


def run(args) -> int:

    path = config_path(args)
    if args.from_organization:
        _discover_organization(args, path)
    elif args.role_name or args.name_template or args.source_profile:
        raise UsageError("--role-name, --source-profile and --name-template go with "
                         "--from-organization", f"see '{PROG} init --help'")
    result = init_now(path, dry_run=args.dry_run, force=args.force, prune=args.prune)
    if args.dry_run:
        print(result.plan.diff(result.path) if result.plan.changed else
              f"{result.path}: no changes")
        return init_warnings(result)
    return init_report(result)


def _discover_organization(args, path: str) -> None:
    from ..config import toml_edit
    from ..discovery import organizations

    if not args.role_name:
        raise UsageError("--from-organization needs --role-name ROLE",
                         "name the role to assume in each account")
    accounts, entries = organizations.discover(path, args.role_name, args.source_profile,
                                               args.name_template)
    print(f"organization: {len(accounts)} active accounts, {len(entries)} new profiles"
          + (f" ({', '.join(name for name, _ in entries)})" if entries else ""))
    if entries and not args.dry_run:
        toml_edit.add_profiles(path, entries)
    elif entries:
        print(f"--dry-run: {path} not changed; the diff below leaves them out")
