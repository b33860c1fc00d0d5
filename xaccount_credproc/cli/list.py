"""`list`: profiles with their cache state, time left and chain of roles (no secrets)."""

from ._common import config_path, duration, store_for, warn

NAME = "list"
SUMMARY = "profiles with their cache state and time left (no secrets)"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    import time

    from ..backends import NOT_CACHED, StoreError
    from ..config import loader
    from ..credentials.providers import attribution, mfa_use
    from ..credentials.resolver import CREDENTIAL_PROCESS, Resolver

    loaded = loader.load(config_path(args), lenient=True)
    warn([f"profile '{name}' is not listed: {e}" for name, e in sorted(loaded.broken.items())])
    stores: dict = {}
    rows = [("PROFILE", "ROLE", "CACHED", "TIME LEFT", "MFA", "CHAIN")]
    own_code: list[str] = []
    attributed: list[str] = []
    now = time.time()
    for name in loaded.names():
        profile = loaded.resolve(name)
        try:
            role, session = Resolver(profile, store=store_for(profile, stores)).cached()
        except StoreError as e:
            warn([e.so(NOT_CACHED)])
            return 1
        if profile.cache == "none":
            state, left = "off", "-"
        else:
            state = CREDENTIAL_PROCESS.state(role, profile, now)
            left = duration(role.seconds_left(now)) if role is not None else "-"
        use, why = mfa_use(profile)
        if use == "shared":  # the MFA session's time left, or that none is cached
            mfa = "session:" + (duration(session.seconds_left(now)) if session else "none")
        elif use:
            mfa = "own-code"
            own_code.append(f"  {name}: {why}")
        else:
            mfa = "-"
        rows.append((name, profile.role_arn, state, left, mfa, profile.chain_text()))
        if attribution(profile):
            attributed.append(f"  {name}: {attribution(profile)}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if own_code:
        print("\nMFA code on their own AssumeRole (not the shared MFA session):")
        print("\n".join(own_code))
    if attributed:
        print("\nWho is behind the role (SourceIdentity and session tags on AssumeRole):")
        print("\n".join(attributed))
    for line in _sso_sessions() + _logins(args):
        print(line)
    from ..server.client import summary

    print("\n".join(summary()))
    return 0


def _sso_sessions() -> list[str]:
    """The IAM Identity Center sessions of the AWS config and their logins (never a token)."""
    from ..credentials import sso
    from ..errors import UserError

    try:
        sessions = sso.all_sessions()
    except UserError as e:
        return [f"\nIAM Identity Center sessions: {e.what}"]
    if not sessions:
        return []
    return ["\nIAM Identity Center sessions:"] + [
        f"  {s.name}  {s.start_url}  {sso.state(s)[0]}" for s in sessions]


def _logins(args) -> list[str]:
    """Each AWS Sign-In login: who, until when its access key lasts, when the login ends
    (never a token)."""
    from ..credentials import login
    from ..errors import UserError

    try:
        logins = login.every_login(config_path(args))
    except UserError as e:
        return [f"\nAWS Sign-In logins: {e.what}"]
    if not logins:
        return []
    kept = {"file": "file", "keyring": "OS keyring"}
    return ["\nAWS Sign-In logins (console credentials):"] + [
        f"  {one.label} ({kept[one.storage]}): {login.state(one)[0]}" for one in logins]
