"""`doctor`: every precondition of a working setup, checked, each problem with its fix."""

import configparser
import os
import secrets
import shlex
import time

from . import awsconfig, config, paths
from .errors import UserError

OK, WARN, FAIL = "ok", "warn", "FAIL"
# botocore reads these before credential_process: in a stanza they take the profile away from us.
SHADOWING_KEYS = ("role_arn", "web_identity_token_file", "sso_session", "sso_start_url",
                  "credential_source")


class Check:
    def __init__(self, status: str, what: str, fix: str = ""):
        self.status, self.what, self.fix = status, what, fix

    def __str__(self) -> str:
        return f"{self.status:4}  {self.what}" + (f"; {self.fix}" if self.fix else "")


def run(config_path: str) -> list[Check]:
    try:
        loaded = config.load(config_path)
    except UserError as e:
        return [Check(FAIL, f"TOML config: {e.what}", e.fix)]
    checks = [Check(OK, f"TOML config {config_path}: {len(loaded.profiles)} profiles from "
                        f"{len(loaded.files)} file(s)")]
    profiles = [loaded.resolve(name) for name in loaded.names()]
    checks += _aws_config(loaded, config_path)
    checks += _plaintext_sources(loaded)
    checks += _keyring(profiles)
    checks += _terminal(profiles)
    checks += _sources(profiles)
    return checks


def _aws_config(loaded: config.Config, config_path: str) -> list[Check]:
    from .sync import helper_command, wanted_stanzas

    path = paths.aws_config_path()
    try:
        text = awsconfig.read(path)
    except UserError as e:
        return [Check(FAIL, f"AWS config: {e.what}", e.fix)]
    out = []
    plan = awsconfig.plan(text, wanted_stanzas(loaded, helper_command(config_path)))
    # A managed line written the old way is always among the out-of-date ones init rewrites.
    served = awsconfig.profiles_served_by_helper(text)
    misread = {name: why for name in plan.updated
               if (why := awsconfig.misread_line(served.get(name, "")))}
    for name, why in misread.items():
        out.append(Check(FAIL, f"AWS config: the credential_process line of '{name}' is "
                               f"misread by some clients: {why}",
                         "run 'xaccount-credproc init' to rewrite it"))
    for name in plan.added:
        out.append(Check(FAIL, f"AWS config: profile '{name}' has no managed stanza",
                         "run 'xaccount-credproc init'"))
    for name in plan.updated:
        if name in misread:
            continue  # said above, more precisely
        out.append(Check(FAIL, f"AWS config: the stanza of '{name}' is out of date",
                         "run 'xaccount-credproc init'"))
    for name in plan.conflicts:
        out.append(Check(FAIL, f"AWS config: profile '{name}' is hand-written, not managed",
                         "rename one of them, or run 'xaccount-credproc init --force'"))
    lines = awsconfig.split_lines(text)
    for section in awsconfig.sections(lines):
        name = section.profile
        if name not in loaded.profiles:
            continue
        body = "".join(lines[section.start + 1:section.end])
        parser = configparser.RawConfigParser()
        try:
            parser.read_string("[s]\n" + body)
        except configparser.Error:
            continue
        shadowing = [key for key in SHADOWING_KEYS if parser.has_option("s", key)]
        if shadowing:
            out.append(Check(FAIL, f"AWS config: profile '{name}' has {', '.join(shadowing)}, "
                                   "which botocore uses instead of credential_process",
                             "remove it from the stanza"))
        process = parser.get("s", "credential_process", fallback="")
        try:
            argv = shlex.split(process) if process else []
        except ValueError:
            argv = []
        executable = argv[0] if argv else ""
        if process and not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            out.append(Check(FAIL, f"AWS config: the credential_process of '{name}' runs "
                                   f"{executable!r}, which is not an executable file",
                             "run 'xaccount-credproc init' from the installed helper"))
        elif len(argv) > 2 and argv[1] == "-S" and not os.path.isfile(argv[2]):
            # The fast start names the package's __main__.py: gone after an uninstall or move.
            out.append(Check(FAIL, f"AWS config: the credential_process of '{name}' runs "
                                   f"{argv[2]!r}, which does not exist",
                             "run 'xaccount-credproc init' from the installed helper"))
    out += _credentials_file(loaded)
    if not out:
        out.append(Check(OK, f"AWS config {path}: every profile has its managed stanza"))
    return out


def _credentials_parser(path: str):
    """~/.aws/credentials as configparser reads it; None if it cannot be parsed."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    return parser


def _credentials_file(loaded: config.Config) -> list[Check]:
    path = paths.aws_credentials_path()
    parser = _credentials_parser(path)
    if parser is None:
        return [Check(FAIL, f"{path} cannot be parsed", "fix its syntax")]
    checks = [Check(FAIL, f"{path}: profile '{name}' has keys there, which botocore uses "
                          "instead of credential_process", f"remove [{name}] from {path}")
              for name in loaded.profiles
              if parser.has_section(name) and parser.has_option(name, "aws_access_key_id")]
    return checks


def _plaintext_sources(loaded: config.Config) -> list[Check]:
    """Long-term keys in plain text that a TOML profile uses as its source."""
    path = paths.aws_credentials_path()
    parser = _credentials_parser(path)
    if parser is None:
        return []  # _credentials_file says so
    names = sorted({loaded.resolve(n).root_source for n in loaded.profiles} - set(loaded.sources))
    return [Check(WARN, f"{path}: source profile '{name}' keeps long-term keys in plain text, "
                        "readable by every process of yours and every backup",
                  f"move them into the OS keyring: xaccount-credproc source import {name}")
            for name in names
            if parser.has_section(name) and parser.has_option(name, "aws_secret_access_key")]


def _keyring(profiles) -> list[Check]:
    from .store import KeyringStore, StoreError

    choices = sorted({p.keyring_backend for p in profiles if p.cache != "none"})
    if not choices:
        return [Check(OK, 'keyring: not used (cache = "none" everywhere)')]
    checks = []
    for choice in choices:
        setting = "" if choice == "auto" else f' (keyring_backend = "{choice}")'
        store = KeyringStore(backend=choice)
        name = f"doctor/{secrets.token_hex(4)}"
        value = secrets.token_hex(16)
        try:
            label = store.describe()
            store.set(name, value, expires=int(time.time()) + 60)
            read = store.get_many([name])[0]
            store.delete(name)
        except StoreError as e:
            checks.append(Check(FAIL, f"keyring{setting}: {e.what}", e.fix))
            continue
        if read != value:
            checks.append(Check(FAIL, f"keyring {label}{setting}: an entry written could not be "
                                      "read back", 'check the keyring, or set cache = "none"'))
            continue
        checks.append(Check(OK, f"keyring {label}{setting}: unlocked, an entry round-trips"))
        if store.kernel:
            checks.append(_kernel_quota(store))
    return checks


def _kernel_quota(store) -> Check:
    """How much of the uid's kernel key quota is in use, and how much of it is ours."""
    from .backends import kernel_keys, keyctl

    try:
        entries = store._kernel.entries(include_expired=True)
    except keyctl.KernelKeyringError as e:
        return Check(WARN, f"kernel keyring: cannot list entries ({e})", "check 'keyctl show @u'")
    mine = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} of this tool, " \
           f"{sum(e.size for e in entries)} bytes"
    now = kernel_keys.usage()
    if now is None:
        return Check(OK, f"kernel keyring quota: unknown (no /proc/key-users); {mine}")
    text = (f"kernel keyring quota: {now.bytes} of {now.max_bytes} bytes and {now.keys} of "
            f"{now.max_keys} keys in use ({mine})")
    if now.bytes > 0.8 * now.max_bytes or now.keys > 0.8 * now.max_keys:
        return Check(WARN, text + "; nearly full, so entries will be evicted early",
                     "raise it: sysctl kernel.keys.maxbytes=100000 kernel.keys.maxkeys=1000")
    return Check(OK, text)


def _terminal(profiles) -> list[Check]:
    """Per MFA profile: which prompt would be used right now, and whether anything would work
    without a terminal (an IDE or desktop app runs the helper with none)."""
    from . import prompt

    mfa = [p for p in profiles if p.mfa_serial]
    if not mfa:
        return [Check(OK, "MFA: no profile uses MFA")]
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        terminal = True
    except OSError:
        terminal = False
    dialog = prompt.find_dialog()
    dialog_name = f"a {dialog.EXECUTABLE} dialog" if dialog else None
    out = []
    for p in mfa:
        if p.mfa_process:
            out.append(Check(OK, f"MFA for '{p.name}': mfa_process (no prompt needed)"))
            continue
        now = ("the terminal" if terminal and p.mfa_prompt != "dialog"
               else dialog_name if p.mfa_prompt != "terminal" else None)
        without = dialog_name if p.mfa_prompt != "terminal" else None
        if now is None:
            out.append(Check(WARN, f"MFA for '{p.name}': no prompt would work here (mfa_prompt "
                                   f"= \"{p.mfa_prompt}\", no terminal"
                                   f"{'' if dialog else ', no desktop dialog'})",
                             "set mfa_process, or run from a terminal or a desktop session "
                             "with zenity or kdialog"))
        elif without is None:
            out.append(Check(WARN, f"MFA for '{p.name}': {now} now, but nothing without a "
                                   "terminal (IDEs, desktop apps)",
                             "set mfa_process, or use a desktop session with zenity or kdialog "
                             "(mfa_prompt = \"auto\")"))
        else:
            out.append(Check(OK, f"MFA for '{p.name}': {now} now; {without} without a terminal"))
    return out


def _sources(profiles) -> list[Check]:
    from .provider import CredentialProvider
    from .sts import StsSource

    out = []
    seen = set()
    for profile in profiles:
        root = profile.root_source  # a chained profile's first hop has the real source
        key = (root, profile.chain[0].region)
        if key in seen:
            continue
        seen.add(key)
        try:
            keys = (CredentialProvider(profile)._stored_keys()
                    if profile.chain[0].stored_source is not None else None)
        except UserError as e:
            out.append(Check(FAIL, f"stored source '{root}': {e.what}", e.fix))
            continue
        source = StsSource(root, profile.chain[0].region, profile.chain[0].name, keys=keys)
        try:
            identity = source.call_api("GetCallerIdentity",
                                       lambda s=source: s.client().get_caller_identity())
        except UserError as e:
            out.append(Check(FAIL, f"STS via source profile '{root}': {e.what}", e.fix))
            continue
        out.append(Check(OK, f"STS via source profile '{root}' "
                             f"({source.endpoint_url}): {identity['Arn']}"))
    return out + _chains(profiles)


def _chains(profiles) -> list[Check]:
    """Each chained profile, hop by hop: a source role with a cached session is asked who it is
    (GetCallerIdentity needs no MFA and no trust policy); one without is assumed on first use."""
    from .provider import CredentialProvider
    from .store import StoreError
    from .sts import StsSource

    out = []
    for profile in profiles:
        if profile.via is None:
            continue
        notes = []
        for hop in profile.chain[:-1]:
            try:
                cached, _ = CredentialProvider(hop).cached()
            except StoreError:
                cached = None
            if cached is None or cached.seconds_left() <= 0:
                notes.append(f"'{hop.name}' not cached (assumed on first use)")
                continue
            source = StsSource(hop.root_source, hop.region, hop.name)
            try:
                identity = source.call_api("GetCallerIdentity", lambda s=source, c=cached:
                                           s.client(c).get_caller_identity())
            except UserError as e:
                out.append(Check(FAIL, f"chain of '{profile.name}' ({profile.chain_text()}): "
                                       f"the cached session of '{hop.name}': {e.what}",
                                 f"xaccount-credproc clear {hop.name}, then try again"))
                break
            notes.append(f"'{hop.name}' cached, STS accepts it as {identity['Arn']}")
        else:
            out.append(Check(OK, f"chain of '{profile.name}': {profile.chain_text()}; "
                                 + "; ".join(notes)))
    return out
