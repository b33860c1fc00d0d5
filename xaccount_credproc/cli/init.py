"""`init`: write the AWS config's managed stanzas (optionally after discovering the accounts of
an AWS Organization)."""


from ._common import PROG, UsageError, config_path, fail, warn

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
    parser.add_argument("--name-template", metavar="TEMPLATE",
                        help="with --from-organization: profile names, from {account_name} "
                             "{account_id} {role} (default {account_name}-{role})")


def run(args) -> int:

    path = config_path(args)
    if args.from_organization:
        _discover_organization(args, path)
    elif args.role_name or args.name_template or args.source_profile:
        raise UsageError("--role-name, --source-profile and --name-template go with "
                         "--from-organization", f"see '{PROG} init --help'")
    result = _init(path, dry_run=args.dry_run, force=args.force, prune=args.prune)
    if args.dry_run:
        print(result.plan.diff(result.path) if result.plan.changed else
              f"{result.path}: no changes")
        return warnings(result)
    return report(result)


def report(result) -> int:
    """What init did, one line; the exit status of its warnings."""
    plan = result.plan
    done = [f"{label} {len(names)} ({', '.join(names)})" for label, names in (
        ("added", plan.added), ("updated", plan.updated), ("replaced", plan.replaced),
        ("took over", plan.adopted), ("removed", plan.pruned)) if names]
    if done:
        print(f"{result.path}: " + "; ".join(done) + f"; {len(plan.unchanged)} unchanged")
    else:
        print(f"{result.path} is up to date ({len(plan.unchanged)} managed profiles); "
              "nothing written")
    return warnings(result)


def warnings(result) -> int:
    if result.stale:
        warn([f"managed profiles no longer in the TOML config: {', '.join(result.stale)}; "
              f"remove them with '{PROG} init --prune'"])
    if result.plan.conflicts:
        warn([_conflict(result, name) for name in result.plan.conflicts])
        return 1
    return 0


def _conflict(result, name: str) -> str:
    keys = result.plan.conflict_keys.get(name)
    if not keys:
        return (f"hand-written profile '{name}' in {result.path} has the name of a TOML profile "
                f"and was left alone; rename one of them, or replace it with '{PROG} init "
                "--force'")
    return (f"hand-written profile '{name}' in {result.path} has the name of a TOML profile and "
            f"gets credentials its own way ({', '.join(keys)}), so it was left alone; remove "
            f"{'that key' if len(keys) == 1 else 'those keys'} from it, rename one of them, or "
            f"replace it with '{PROG} init --force'")


def then_init(args, path: str, flags: str = "") -> int:
    """After add/remove: run init when asked to (--init), else say how."""
    if not args.init:
        print(f"run '{PROG} init{' ' + flags if flags else ''}' to update the AWS config")
        return 0

    return report(_init(path, prune=bool(flags)))


def _init(path: str, **options):
    """sync.init, with every broken profile listed (one line each) before the summary."""
    from ..config import sync

    try:
        return sync.init(path, **options)
    except sync.BrokenProfiles as e:
        for error in e.errors:
            fail(str(error))
        raise


def _discover_organization(args, path: str) -> None:
    from ..config import toml_edit
    from ..credentials import organizations

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
