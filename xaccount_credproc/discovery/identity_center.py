"""`sso sync`: a TOML profile for every account and role IAM Identity Center assigns you, then the
AWS config's stanzas as `init` writes them, in the same run.

ListAccounts and ListAccountRoles (paginated; throttling retried with backoff by botocore's
standard retry mode, more attempts than elsewhere; the roles of several accounts asked at once)
give the assignments. Each becomes `[profiles.NAME]` with `sso_session`, `sso_account_id`,
`sso_role_name` and `sso_synced = true`, named as every discovered profile is (naming.py).
Profiles already there for an account and role (synced or hand-made) are kept as they are; a
hand-made profile is never overwritten. `--prune` removes exactly the synced profiles of this
session whose account or role is no longer assigned, from the TOML and their stanzas from the
AWS config.
"""

from concurrent.futures import ThreadPoolExecutor

from ..credentials.sso import LoginNeeded, SsoSession, TokenFile
from . import naming

ATTEMPTS = 10  # ListAccountRoles for a thousand accounts meets the portal's throttling
WORKERS = 8
PAGE = 100


class Plan:
    def __init__(self) -> None:
        self.accounts = 0
        self.assignments: list[tuple[str, str, str]] = []  # (account id, name, role)
        self.added: list[tuple[str, dict]] = []
        self.removed: list[str] = []
        self.unchanged = 0


def assignments(session: SsoSession, token: str) -> tuple[int, list[tuple[str, str, str]]]:
    """(how many accounts, (account id, account name, role) of each assigned role)."""
    from ..credentials.sso.login import call_api, service_client

    portal = service_client("sso", session.region, attempts=ATTEMPTS)

    def pages(operation: str, key: str, **params) -> list[dict]:
        def listed():
            items: list[dict] = []
            for page in portal.get_paginator(operation).paginate(
                    accessToken=token, PaginationConfig={"PageSize": PAGE}, **params):
                items += page.get(key) or []
            return items

        answer = call_api(session, operation, listed, expected=("UnauthorizedException",))
        if answer == "UnauthorizedException":
            raise LoginNeeded(f"IAM Identity Center no longer accepts the login of "
                              f"{session.label}", f"sign in again: run {session.login_command}")
        return answer

    accounts = pages("list_accounts", "accountList")

    def roles(account: dict) -> list[tuple[str, str, str]]:
        listed = pages("list_account_roles", "roleList", accountId=account["accountId"])
        return [(account["accountId"], account.get("accountName") or account["accountId"],
                 role["roleName"]) for role in listed]

    with ThreadPoolExecutor(WORKERS) as pool:
        found = [item for chunk in pool.map(roles, accounts) for item in chunk]
    return len(accounts), sorted(found)


def plan(loaded, session: SsoSession, found: list[tuple[str, str, str]], template: str,
         prune: bool) -> Plan:
    result = Plan()
    result.assignments = found
    have: dict[tuple[str, str], str] = {}  # (account, role) -> profile, for this session
    synced: dict[str, tuple[str, str]] = {}
    for name, table in loaded.profiles.items():
        if table.get("sso_session", loaded.defaults.get("sso_session")) != session.name:
            continue
        if "sso_account_id" in table and "sso_role_name" in table:
            pair = (table["sso_account_id"], table["sso_role_name"])
            have.setdefault(pair, name)
            if table.get("sso_synced"):
                synced[name] = pair
    taken = set(loaded.profiles) | set(loaded.sources)
    wanted = set()
    for account_id, account_name, role in found:
        wanted.add((account_id, role))
        if (account_id, role) in have:
            result.unchanged += 1
            continue
        name = naming.profile_name(template, taken, account_name=account_name,
                                   account_id=account_id, role_name=role,
                                   session=session.name or "")
        result.added.append((name, {"sso_session": session.name, "sso_account_id": account_id,
                                    "sso_role_name": role, "sso_synced": True}))
    if prune:
        result.removed = sorted(name for name, pair in synced.items() if pair not in wanted)
    return result


def sync(config_path: str, session_name: str, template: str = naming.DEFAULT_TEMPLATE,
         prune: bool = False, dry_run: bool = False):
    """(Plan, init's result or None on a dry run)."""
    from ..config import loader, stanzas
    from ..config.toml_edit import sync_profiles
    from ..credentials.sign_in import PersonSignIn
    from ..credentials.sso import session_named
    from ..credentials.sso.login import fresh_token

    naming.check_template(template)
    loaded = loader.load(config_path, lenient=True)
    table = loaded.sso_sessions.get(session_name)
    if table is not None:
        session = SsoSession(session_name, table["sso_start_url"], table["sso_region"],
                             table.get("sso_registration_scopes", []))
    else:
        session = session_named(session_name)
    token = fresh_token(TokenFile(session), sign_in=PersonSignIn())
    accounts, found = assignments(session, token["accessToken"])
    result = plan(loaded, session, found, template, prune)
    result.accounts = accounts
    if dry_run or not (result.added or result.removed):
        return result, None if dry_run else stanzas.init(config_path, prune=prune)
    sync_profiles(config_path, result.added, result.removed)
    return result, stanzas.init(config_path, prune=prune)
