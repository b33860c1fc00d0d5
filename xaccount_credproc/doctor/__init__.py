"""`doctor`: every precondition of a working setup, checked, each problem with its fix.

One module per subject: aws_files (the AWS config and credentials files), keystore (the keyring
round trip and the kernel quota), prompts (where an MFA code would be asked), identity (each
source and chain at STS), sso (each IAM Identity Center session's login), logins (each AWS
Sign-In login: its token, its key, its refresh), browsers (the console's browsers are there).
Each returns a list of check.Check lines.
"""

from ..config import loader
from ..errors import UserError
from .check import FAIL, OK, Check


def run(config_path: str) -> list[Check]:
    from . import aws_files, browsers, identity, keystore, logins, prompts, sso

    try:
        loaded = loader.load(config_path, lenient=True)
    except UserError as e:
        return [Check(FAIL, f"TOML config: {e.what}", e.fix)]
    checks = [Check(OK, f"TOML config {config_path}: {len(loaded.names())} profiles from "
                        f"{len(loaded.files)} file(s)")]
    # Each broken profile on its own line; the others are checked as usual.
    checks += [Check(FAIL, f"TOML config: {e.what}", e.fix)
               for _, e in sorted(loaded.broken.items())]
    profiles = [loaded.resolve(name) for name in loaded.names()]
    checks += aws_files.aws_config(loaded, config_path)
    checks += aws_files.plaintext_sources(loaded)
    checks += keystore.keyring(profiles)
    checks += keystore.vault(loaded)
    checks += prompts.mfa_sharing(profiles)
    checks += prompts.attributions(profiles)
    checks += prompts.mfa_prompts(profiles)
    checks += identity.sources(profiles)
    checks += sso.sessions()
    checks += logins.logins(config_path)
    checks += browsers.configured(profiles)
    checks.append(server_check())
    return checks


def server_check() -> Check:
    from ..server.client import check
    from .check import WARN

    status, what, fix = check()
    return Check({"ok": OK, "warn": WARN, "fail": FAIL}[status], what, fix)
