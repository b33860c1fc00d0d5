"""`vault init|status|lock|passwd|reset|migrate`: the encrypted file for stored sources where no
desktop keyring answers (see credentials/stored/admin.py)."""

from ._common import config_path, warn

NAME = "vault"
SUMMARY = ("an encrypted file for long-term keys where there is no desktop keyring: init, status, "
           "lock, passwd, reset, migrate")


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("init", help="create the vault (the passphrase twice at a terminal; once "
                                    "from passphrase_process, or stdin when there is none)")
    actions.add_parser("status", help="its file, locked or unlocked until when, entries by name")
    actions.add_parser("lock", help="drop the unlocked key from the kernel keyring now")
    actions.add_parser("passwd", help="a new passphrase (every entry re-encrypted; kill-safe)")
    reset = actions.add_parser("reset", help="delete the vault and its keys (a lost passphrase)")
    reset.add_argument("--yes", action="store_true", help="without asking for confirmation")
    actions.add_parser("migrate", help="move stored keys from the kernel keyring into the vault")


def run(args) -> int:
    from ..backends import StoreError
    from ..errors import ConfigError

    try:
        return _run(args)
    except StoreError as e:  # the vault file: damaged, newer, unwritable (exit 2, bad input)
        raise ConfigError(e.what, e.fix) from None


def _run(args) -> int:
    from ..credentials.stored import admin as vault

    if args.action == "init":
        path, warnings = vault.init(config_path(args))
        warn(warnings)
        print(f"created the vault {path}; it is unlocked (the key is kept in the kernel keyring "
              "until its unlock_timeout, or 'vault lock')")
    elif args.action == "status":
        print("\n".join(vault.status()))
    elif args.action == "lock":
        print("locked" if vault.lock() else "it was not unlocked")
    elif args.action == "passwd":
        warn(vault.passwd(config_path(args)))
        print("the vault's passphrase is changed; every entry is re-encrypted")
    elif args.action == "reset":
        path = vault.reset(args.yes)
        print(f"deleted {path}; store the sources' keys again ('source add' or 'source import')")
    else:
        moved, warnings = vault.migrate(config_path(args))
        warn(warnings)
        print(f"moved {len(moved)} key(s) into the vault")
    return 0
