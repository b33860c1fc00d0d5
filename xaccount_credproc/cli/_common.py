"""What every command shares: the program name, errors, warnings, the config path, the one
path to a profile's role credentials (credential-process, console and exec), and what several
commands print alike (init's report, for init and add/remove --init; the options several
commands take are in parser.py).
Commands never import each other: what two of them share lives here or in the core."""

import sys

from ..errors import ConfigError

PROG = "xaccount-credproc"
# The command modules, in the order `--help` lists them.
COMMANDS = ("credential_process", "init", "add", "remove", "console", "switch_role_url", "exec",
            "doctor", "list", "clear", "source", "vault", "serve", "server_env", "server_revoke",
            "container_setup", "completion", "sso", "login", "logout", "eks_token", "eks",
            "shell_init", "shell")
EXIT_INTERRUPTED = 130


class UsageError(ConfigError):
    pass


class Args:
    """Parsed arguments (what argparse's Namespace is, without importing argparse)."""

    def __init__(self, **values):
        self.__dict__.update(values)


def add_profile_option(parser) -> None:
    from ._names import profile_names

    parser.add_argument("--profile", metavar="NAME", required=True,
                        help="profile name in the TOML config").completer = profile_names


def config_path(args) -> str:
    from ..config import config_path

    return config_path(args.config)


def role_credentials(args):
    """(profile, credentials) from the cache, or fetched (with MFA) under the same lock. With
    `--source NAME` (credential-process only): a stored source's IAM user's own session."""
    from ..config.snapshot import load_profile
    from ..credentials.resolver import Resolver
    from ..reentry import check_not_reentered

    source = getattr(args, "source", None)
    name = source or args.profile
    check_not_reentered(name)
    warnings: list[str] = []
    try:
        profile = load_profile(config_path(args), name, warnings, source=bool(source))
        provider = Resolver(profile, warnings=warnings)
        if source:
            return profile, provider.user_session()
        credentials = provider.credentials()
    finally:
        warn(warnings)
    from ..config.snapshot import identities
    from ..credentials.hit import remember
    from ..credentials.resolver import CREDENTIAL_PROCESS

    # The next hit of this profile is served before anything is imported (credentials/hit.py).
    remember(config_path(args), profile, identities(config_path(args), name),
             int(CREDENTIAL_PROCESS.margin(profile)))
    return profile, credentials


def duration(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def printable(text: str) -> str:
    """`text` with every character a terminal would act on (newlines, escape sequences, other
    control characters) shown as its escape: messages quote names typed on the command line,
    and each message is one line on a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def warn(messages) -> None:
    for message in dict.fromkeys(messages):  # once each, in order
        print(f"{PROG}: warning: {printable(message)}", file=sys.stderr, flush=True)


def fail(message: str) -> None:
    # One line: the AWS CLI shows our whole stderr after "Error when retrieving credentials from
    # custom-process:".
    print(f"{PROG}: {printable(message)}", file=sys.stderr, flush=True)


def store_for(profile, stores: dict):
    """The keyring store for `profile`: one per keyring_backend setting, shared through
    `stores` by the profiles that use it."""
    from ..backends import store_named

    if profile.keyring_backend not in stores:
        stores[profile.keyring_backend] = store_named(profile.keyring_backend)
    return stores[profile.keyring_backend]


# -- shared by commands: init's report (init, add --init, remove --init) -------------------------


def init_report(result) -> int:
    """What init did, one line; the exit status of its warnings."""
    from ..config.stanzas import summary

    print(summary(result))
    return init_warnings(result)


def init_warnings(result) -> int:
    from ..config.stanzas import warnings

    said, conflicts = warnings(result, PROG)
    warn(said)
    return 1 if conflicts else 0


def then_init(args, path: str, flags: str = "") -> int:
    """After add/remove: run init when asked to (--init), else say how."""
    if not args.init:
        print(f"run '{PROG} init{' ' + flags if flags else ''}' to update the AWS config")
        return 0

    return init_report(init_now(path, prune=bool(flags)))


def init_now(path: str, **options):
    """stanzas.init, with every broken profile listed (one line each) before the summary."""
    from ..config import stanzas

    try:
        return stanzas.init(path, **options)
    except stanzas.BrokenProfiles as e:
        for error in e.errors:
            fail(str(error))
        raise
