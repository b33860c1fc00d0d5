"""doctor: the AWS config's managed stanzas and ~/.aws/credentials, read as botocore reads them."""

import configparser
import os
import shlex

from .. import config
from ..config import awsconfig, model
from ..errors import UserError
from .check import FAIL, OK, WARN, Check

# botocore reads these before credential_process: in a stanza they take the profile away from us.
SHADOWING_KEYS = ("role_arn", "web_identity_token_file", "sso_session", "sso_start_url",
                  "credential_source")


def aws_config(loaded: model.Config, config_path: str) -> list[Check]:
    from ..config.stanzas import helper_command, wanted_stanzas

    path = config.aws_config_path()
    try:
        text = awsconfig.read(path)
    except UserError as e:
        return [Check(FAIL, f"AWS config: {e.what}", e.fix)]
    try:
        awsconfig.refuse_duplicates(path, text)
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
        profile = section.profile
        if profile not in loaded.profiles:
            continue
        body = "".join(lines[section.start + 1:section.end])
        parser = configparser.RawConfigParser()
        try:
            parser.read_string("[s]\n" + body)
        except configparser.Error:
            continue
        shadowing = [key for key in SHADOWING_KEYS if parser.has_option("s", key)]
        if shadowing:
            out.append(Check(FAIL, f"AWS config: profile '{profile}' has {', '.join(shadowing)}, "
                                   "which botocore uses instead of credential_process",
                             "remove it from the stanza"))
        process = parser.get("s", "credential_process", fallback="")
        try:
            argv = shlex.split(process) if process else []
        except ValueError:
            argv = []
        executable = argv[0] if argv else ""
        if process and not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            out.append(Check(FAIL, f"AWS config: the credential_process of '{profile}' runs "
                                   f"{executable!r}, which is not an executable file",
                             "run 'xaccount-credproc init' from the installed helper"))
        elif len(argv) > 2 and argv[1] == "-S" and not os.path.isfile(argv[2]):
            # The fast start names the package's __main__.py: gone after an uninstall or move.
            out.append(Check(FAIL, f"AWS config: the credential_process of '{profile}' runs "
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


def _credentials_file(loaded: model.Config) -> list[Check]:
    path = config.aws_credentials_path()
    parser = _credentials_parser(path)
    if parser is None:
        return [Check(FAIL, f"{path} cannot be parsed", "fix its syntax")]
    checks = [Check(FAIL, f"{path}: profile '{name}' has keys there, which botocore uses "
                          "instead of credential_process", f"remove [{name}] from {path}")
              for name in loaded.profiles
              if parser.has_section(name) and parser.has_option(name, "aws_access_key_id")]
    return checks


def plaintext_sources(loaded: model.Config) -> list[Check]:
    """Long-term keys in plain text that a TOML profile uses as its source."""
    path = config.aws_credentials_path()
    parser = _credentials_parser(path)
    if parser is None:
        return []  # _credentials_file says so
    names = sorted({loaded.resolve(n).root_source for n in loaded.names()} - set(loaded.sources))
    return [Check(WARN, f"{path}: source profile '{name}' keeps long-term keys in plain text, "
                        "readable by every process of yours and every backup",
                  f"move them into the OS keyring: xaccount-credproc source import {name}")
            for name in names
            if parser.has_section(name) and parser.has_option(name, "aws_secret_access_key")]
