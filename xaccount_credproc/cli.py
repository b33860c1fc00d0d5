"""The command layer: arguments, exit codes and the one line a user reads when something fails.

Commands are declared in COMMANDS and parsed by the small parser below rather than argparse:
`credential-process` runs on every `aws` command, and argparse (with the gettext, shutil and locale
imports its formatter brings) costs more than the whole cache hit. Handlers import what they need
when they run.
"""

import os
import sys

from . import debug
from .errors import ConfigError, UserError

PROG = "xaccount-credproc"
EXIT_INTERRUPTED = 130


class UsageError(ConfigError):
    pass


# ---------------------------------------------------------------------------------------------
# Handlers


def cmd_credential_process(args) -> int:
    profile, credentials = _role_credentials(args)
    sys.stdout.write(credentials.process_json(profile.account_id) + "\n")
    sys.stdout.flush()
    return 0


def cmd_list(args) -> int:
    import time

    from . import config
    from .provider import CredentialProvider
    from .store import KeyringStore, StoreError

    loaded = config.load(_config_path(args))
    store = KeyringStore()
    rows = [("PROFILE", "ROLE", "CACHED", "TIME LEFT", "MFA SESSION")]
    now = time.time()
    for name in loaded.names():
        profile = loaded.resolve(name)
        try:
            role, session = CredentialProvider(profile, store=store).cached()
        except StoreError as e:
            _warn([str(e)])
            return 1
        if profile.cache == "none":
            state, left = "off", "-"
        elif role is None:
            state, left = "no", "-"
        else:
            seconds = role.seconds_left(now)
            state = ("yes" if seconds > profile.refresh_margin
                     else "expired" if seconds <= 0 else "refresh due")
            left = _duration(seconds)
        mfa = "-" if not profile.mfa_serial else (
            _duration(session.seconds_left(now)) if session else "none")
        rows.append((name, profile.role_arn, state, left, mfa))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_clear(args) -> int:
    from . import config
    from .provider import CredentialProvider
    from .store import KeyringStore, StoreError

    if bool(args.name) == bool(args.all):
        raise UsageError("name one profile or use --all", "e.g. 'xaccount-credproc clear prod'")
    loaded = config.load(_config_path(args))
    names = loaded.names() if args.all else [loaded.resolve(args.name).name]
    store = KeyringStore()
    removed = 0
    try:
        for name in names:
            removed += CredentialProvider(loaded.resolve(name), store=store).clear()
    except StoreError as e:
        _warn([str(e)])
        return 1
    what = "all profiles" if args.all else f"profile '{args.name}'"
    print(f"removed {removed} cached entr{'y' if removed == 1 else 'ies'} for {what} "
          "(role credentials and MFA sessions)")
    return 0


def cmd_init(args) -> int:
    from . import sync

    path = _config_path(args)
    if args.from_organization:
        _discover_organization(args, path)
    elif args.role_name or args.name_template or args.source_profile:
        raise UsageError("--role-name, --source-profile and --name-template go with "
                         "--from-organization", f"see '{PROG} init --help'")
    result = sync.init(path, dry_run=args.dry_run, force=args.force, prune=args.prune)
    if args.dry_run:
        print(result.plan.diff(result.path) if result.plan.changed else
              f"{result.path}: no changes")
        return _init_warnings(result)
    return _init_report(result)


def _init_report(result) -> int:
    plan = result.plan
    done = [f"{label} {len(names)} ({', '.join(names)})" for label, names in (
        ("added", plan.added), ("updated", plan.updated), ("replaced", plan.replaced),
        ("removed", plan.pruned)) if names]
    if done:
        print(f"{result.path}: " + "; ".join(done) + f"; {len(plan.unchanged)} unchanged")
    else:
        print(f"{result.path} is up to date ({len(plan.unchanged)} managed profiles); "
              "nothing written")
    return _init_warnings(result)


def _init_warnings(result) -> int:
    if result.stale:
        _warn([f"managed profiles no longer in the TOML config: {', '.join(result.stale)}; "
               f"remove them with '{PROG} init --prune'"])
    if result.plan.conflicts:
        _warn([f"hand-written profile '{name}' in {result.path} has the name of a TOML profile "
               f"and was left alone; rename one of them, or replace it with '{PROG} init --force'"
               for name in result.plan.conflicts])
        return 1
    return 0


def _discover_organization(args, path: str) -> None:
    from . import config, organizations, toml_edit

    if not args.role_name:
        raise UsageError("--from-organization needs --role-name ROLE",
                         "name the role to assume in each account")
    config._role_name(args.role_name)
    loaded = config.load(path) if os.path.exists(path) else config.Config(path=path)
    source = args.source_profile or loaded.defaults.get("source_profile", "default")
    accounts = organizations.list_active_accounts(source, loaded.defaults.get("region"))
    entries = organizations.new_profiles(
        accounts, args.role_name, args.name_template or organizations.DEFAULT_TEMPLATE, loaded,
        args.source_profile if args.source_profile != loaded.defaults.get("source_profile")
        else None)
    print(f"organization: {len(accounts)} active accounts, {len(entries)} new profiles"
          + (f" ({', '.join(name for name, _ in entries)})" if entries else ""))
    if entries and not args.dry_run:
        toml_edit.add_profiles(path, entries)
    elif entries:
        print(f"--dry-run: {path} not changed; the diff below leaves them out")


def cmd_add(args) -> int:
    from . import toml_edit

    if bool(args.role_arn) == bool(args.account_id or args.role_name):
        raise UsageError("give either --role-arn, or --account-id and --role-name",
                         f"e.g. '{PROG} add prod --role-arn arn:aws:iam::123456789012:role/R'")
    path = _config_path(args)
    values = {"role_arn": args.role_arn, "account_id": args.account_id,
              "role_name": args.role_name, "external_id": args.external_id,
              "mfa_serial": args.mfa_serial, "source_profile": args.source_profile,
              "region": args.region, "duration_seconds": args.duration_seconds}
    created = toml_edit.add_profile(path, args.name, values)
    print(f"{'created' if created else 'updated'} {path}: added profile '{args.name}'")
    return _then_init(args, path)


def cmd_remove(args) -> int:
    from . import toml_edit

    path = _config_path(args)
    toml_edit.remove_profile(path, args.name)
    print(f"updated {path}: removed profile '{args.name}'")
    return _then_init(args, path, "--prune")


def _then_init(args, path: str, flags: str = "") -> int:
    if not args.init:
        print(f"run '{PROG} init{' ' + flags if flags else ''}' to update the AWS config")
        return 0
    from . import sync

    return _init_report(sync.init(path, prune=bool(flags)))


def _role_credentials(args):
    """(profile, credentials) from the cache, or fetched (with MFA) under the same lock."""
    from .provider import CredentialProvider
    from .resolved import load_profile
    from .sts import check_not_reentered

    check_not_reentered(args.profile)
    warnings: list[str] = []
    try:
        profile = load_profile(_config_path(args), args.profile, warnings)
        return profile, CredentialProvider(profile, warnings=warnings).credentials()
    finally:
        _warn(warnings)


def cmd_console(args) -> int:
    from . import console

    if args.session_duration is not None and not 900 <= args.session_duration <= 43200:
        raise UsageError(f"--session-duration {args.session_duration} is out of range",
                         "use 900 to 43200 seconds")
    profile, credentials = _role_credentials(args)
    region = args.region or profile.region or "us-east-1"
    destination = console.destination_url(args.destination, profile.partition, region)
    url = console.signin_url(credentials, profile.partition, destination,
                             args.session_duration)
    if args.print:
        print(url)
        return 0
    import webbrowser

    if not webbrowser.open(url):
        raise UserError("no web browser could be opened",
                        f"use '{PROG} console --profile {args.profile} --print' and open the "
                        "URL yourself (it signs you in: keep it private)")
    print(f"opened the AWS console for profile '{args.profile}' in your browser")
    return 0


def cmd_switch_role_url(args) -> int:
    from . import config, console

    profile = config.load(_config_path(args)).resolve(args.profile)
    role = profile.role_arn.split(":role/", 1)[1]
    url = console.switch_role_url(profile.partition, profile.account_id, role,
                                  args.display_name or profile.display_name or profile.name,
                                  args.color or profile.color)
    if profile.external_id:
        _warn([f"profile '{profile.name}' uses an ExternalId, which the console's switch role "
               "cannot send: the link works only if the role's trust policy does not require it; "
               f"use '{PROG} console --profile {profile.name}' instead"])
    print(url)
    return 0


def cmd_exec(args) -> int:
    from . import execenv

    if bool(args.env) == bool(args.remainder):
        raise UsageError("give either --env, or -- COMMAND [ARGS...]",
                         f"e.g. '{PROG} exec --profile prod -- aws s3 ls'")
    profile, credentials = _role_credentials(args)
    if args.env:
        sys.stdout.write(execenv.shell_exports(credentials, profile.region))
        return 0
    env = execenv.child_environment(dict(os.environ), credentials, profile.region)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # Replace this process: the command's exit status and signals are the caller's to see.
        os.execvpe(args.remainder[0], args.remainder, env)  # noqa: S606 - by design, no shell
    except FileNotFoundError:
        raise UserError(f"command not found: {args.remainder[0]}",
                        "check the name and PATH") from None
    except PermissionError:
        raise UserError(f"command not executable: {args.remainder[0]}",
                        "check its permissions") from None
    return 127  # pragma: no cover - execvpe does not return


def cmd_doctor(args) -> int:
    from . import doctor

    checks = doctor.run(_config_path(args))
    for check in checks:
        print(check)
    failed = sum(c.status == doctor.FAIL for c in checks)
    print(f"{failed} problem{'s' if failed != 1 else ''} found" if failed else "all good")
    return 1 if failed else 0


def _config_path(args) -> str:
    from .paths import config_path

    return config_path(args.config)


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _warn(messages) -> None:
    for message in dict.fromkeys(messages):  # once each, in order
        print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Declarations


class Opt:
    """An option (`--name`, a flag unless it has a `value` metavar) or a positional (`name`)."""

    def __init__(self, name: str, value: str | None = None, help: str = "",
                 required: bool = False, type=str):
        self.name = name
        self.positional = not name.startswith("-")
        self.dest = name.lstrip("-").replace("-", "_")
        self.value = value or (name.upper() if self.positional else None)
        self.help = help
        self.required = required
        self.type = type

    def usage(self) -> str:
        if self.positional:
            return self.value if self.required else f"[{self.value}]"
        text = f"{self.name} {self.value}" if self.value else self.name
        return text if self.required else f"[{text}]"


class Command:
    def __init__(self, name: str, summary: str, handler, options=(), remainder: str = ""):
        self.name = name
        self.summary = summary
        self.handler = handler
        self.options = list(options)
        self.remainder = remainder  # metavar of the words after `--`, for commands that run one


GLOBAL_OPTIONS = [
    Opt("--config", "PATH", "TOML config file (default: $XACCOUNT_CREDPROC_CONFIG, else "
        "~/.config/xaccount-credproc/config.toml)"),
    Opt("--debug", help="explain each step on stderr (never secrets); show tracebacks"),
]

COMMANDS = {c.name: c for c in [
    Command("credential-process", "print a profile's role credentials as credential_process "
            "JSON (what ~/.aws/config runs)", cmd_credential_process,
            [Opt("--profile", "NAME", "profile name in the TOML config", required=True)]),
    Command("init", "write the AWS config's profile stanzas for every TOML profile", cmd_init,
            [Opt("--dry-run", help="print the change as a unified diff; write nothing"),
             Opt("--force", help="replace hand-written AWS profiles of the same names"),
             Opt("--prune", help="remove managed stanzas whose profile left the TOML"),
             Opt("--from-organization", help="first add a TOML profile per ACTIVE account of "
                 "the AWS Organization"),
             Opt("--role-name", "ROLE", "with --from-organization: the role in each account"),
             Opt("--source-profile", "PROFILE", "with --from-organization: the profile that "
                 "lists the accounts and assumes the roles"),
             Opt("--name-template", "TEMPLATE", "with --from-organization: profile names, from "
                 "{account_name} {account_id} {role} (default {account_name}-{role})")]),
    Command("add", "add a profile to the TOML config (creating it from a template)", cmd_add,
            [Opt("name", "NAME", "the new profile's name", required=True),
             Opt("--role-arn", "ARN", "the role to assume"),
             Opt("--account-id", "ID", "instead of --role-arn: the account ..."),
             Opt("--role-name", "ROLE", "... and the role's name"),
             Opt("--external-id", "ID", "ExternalId the role requires"),
             Opt("--mfa-serial", "ARN", "MFA device (if not in [defaults])"),
             Opt("--source-profile", "PROFILE", "profile whose credentials call STS"),
             Opt("--region", "REGION", "STS and AWS profile region"),
             Opt("--duration-seconds", "SECONDS", "role session length", type=int),
             Opt("--init", help="then run init")]),
    Command("remove", "remove a profile from the TOML config", cmd_remove,
            [Opt("name", "NAME", "the profile to remove", required=True),
             Opt("--init", help="then run init --prune")]),
    Command("console", "sign in to the AWS console as a profile's role (opens a browser)",
            cmd_console,
            [Opt("--profile", "NAME", "profile name in the TOML config", required=True),
             Opt("--print", help="print the sign-in URL instead (it is a credential for 15 "
                 "minutes)"),
             Opt("--destination", "URL|SERVICE", "console page: a URL in the console, or a "
                 "service name such as s3"),
             Opt("--region", "REGION", "console region (default: the profile's)"),
             Opt("--session-duration", "SECONDS", "console session length, 900-43200 (not for "
                 "role-chained sessions)", type=int)]),
    Command("switch-role-url", "print the console's switch-role link for a profile",
            cmd_switch_role_url,
            [Opt("--profile", "NAME", "profile name in the TOML config", required=True),
             Opt("--display-name", "TEXT", "label in the console (default: display_name, else "
                 "the profile name)"),
             Opt("--color", "COLOR", "red, orange, yellow, green, blue or a hex colour")]),
    Command("exec", "run a command with a profile's credentials in its environment", cmd_exec,
            [Opt("--profile", "NAME", "profile name in the TOML config", required=True),
             Opt("--env", help="print export lines for eval instead of running a command")],
            remainder="COMMAND [ARGS...]"),
    Command("doctor", "check the config, AWS config, keyring, terminal and STS access",
            cmd_doctor),
    Command("list", "profiles with their cache state and time left (no secrets)", cmd_list),
    Command("clear", "remove cached credentials and MFA sessions from the keyring", cmd_clear,
            [Opt("name", "NAME", "the profile whose entries to remove"),
             Opt("--all", help="remove the entries of every profile")]),
]}


# ---------------------------------------------------------------------------------------------
# Parsing


class Args:
    def __init__(self, **values):
        self.__dict__.update(values)


def parse(argv: list[str]) -> tuple[Command, Args]:
    tokens = list(argv)
    values: dict = {o.dest: None for o in GLOBAL_OPTIONS}
    command = None
    while tokens and command is None:
        token = tokens.pop(0)
        if token in ("-h", "--help"):
            raise _Help(top_help())
        if token == "--version":
            raise _Help(f"{PROG} {_version()}")
        if token.startswith("-"):
            _take_option(token, tokens, GLOBAL_OPTIONS, values, None)
        elif token in COMMANDS:
            command = COMMANDS[token]
        else:
            raise UsageError(f"unknown command '{token}'",
                             f"commands: {', '.join(COMMANDS)}; see '{PROG} --help'")
    if command is None:
        raise UsageError("no command given", f"see '{PROG} --help'")

    options = command.options + GLOBAL_OPTIONS
    values.update({o.dest: None for o in command.options})
    positionals = [o for o in command.options if o.positional]
    remainder = None
    while tokens:
        token = tokens.pop(0)
        if token in ("-h", "--help"):
            raise _Help(command_help(command))
        if token == "--":
            if command.remainder:
                remainder, tokens = tokens, []
                break
            positional_tokens, tokens = tokens, []
            for word in positional_tokens:
                _take_positional(word, positionals, values, command)
            break
        if token.startswith("-") and token != "-":
            _take_option(token, tokens, options, values, command)
        else:
            _take_positional(token, positionals, values, command)
    for option in command.options:
        if option.required and values[option.dest] is None:
            raise UsageError(f"'{command.name}' needs {option.usage()}",
                             f"see '{PROG} {command.name} --help'")
    if command.remainder:
        values["remainder"] = remainder or []
    return command, Args(**values)


def _take_option(token, tokens, options, values, command) -> None:
    name, has_value, inline = token.partition("=")
    option = next((o for o in options if o.name == name and not o.positional), None)
    if option is None:
        where, hint = (f"'{command.name}'", f"see '{PROG} {command.name} --help'") if command \
            else (PROG, f"see '{PROG} --help'")
        raise UsageError(f"unknown option {name} for {where}", hint)
    if option.value is None:
        if has_value:
            raise UsageError(f"{name} takes no value", f"write just {name}")
        values[option.dest] = True
        return
    if has_value:
        value = inline
    elif tokens:
        value = tokens.pop(0)
    else:
        raise UsageError(f"{name} needs a value", f"write {name} {option.value}")
    try:
        values[option.dest] = option.type(value)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not valid", f"write {name} {option.value}") from None


def _take_positional(word, positionals, values, command) -> None:
    free = [o for o in positionals if values[o.dest] is None]
    if not free:
        raise UsageError(f"unexpected argument {word!r} for '{command.name}'",
                         f"see '{PROG} {command.name} --help'")
    values[free[0].dest] = free[0].type(word)


class _Help(Exception):
    pass


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xaccount-credproc")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def top_help() -> str:
    lines = [f"usage: {PROG} [--version] [--config PATH] [--debug] COMMAND [options]", "",
             "AWS credential_process helper for cross-account roles with ExternalId and MFA, "
             "cached in the OS keyring.", "", "commands:"]
    width = max(len(name) for name in COMMANDS)
    lines += [f"  {name.ljust(width)}  {c.summary}" for name, c in COMMANDS.items()]
    lines += ["", "options (any command):"] + _option_lines(GLOBAL_OPTIONS)
    lines += ["", f"'{PROG} COMMAND --help' describes one command."]
    return "\n".join(lines)


def command_help(command: Command) -> str:
    words = [PROG, command.name] + [o.usage() for o in command.options]
    if command.remainder:
        words += ["--", command.remainder]
    lines = ["usage: " + " ".join(words), "", command.summary]
    if command.options:
        lines += ["", "options:"] + _option_lines(command.options)
    lines += ["", "options (any command):"] + _option_lines(GLOBAL_OPTIONS)
    return "\n".join(lines)


def _option_lines(options) -> list[str]:
    labels = [(o.value if o.positional else f"{o.name} {o.value or ''}".strip()) for o in options]
    width = max(len(label) for label in labels)
    return [f"  {label.ljust(width)}  {o.help}" for label, o in zip(labels, options, strict=True)]


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing useful is left to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None) -> int:
    try:
        command, args = parse(sys.argv[1:] if argv is None else argv)
    except _Help as text:
        print(text)
        return 0
    except UsageError as e:
        _fail(str(e))
        return e.exit_code
    if args.debug:
        debug.enabled = True
    try:
        return command.handler(args)
    except UserError as e:
        if debug.enabled:
            import traceback

            traceback.print_exc()
        _fail(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as e:  # never a traceback (it could show more than we mean to) by default
        if debug.enabled:
            import traceback

            traceback.print_exc()
        _fail(f"internal error ({type(e).__name__}); rerun with --debug and report it")
        return 70


def _fail(message: str) -> None:
    # One line: the AWS CLI shows our whole stderr after "Error when retrieving credentials from
    # custom-process:".
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
