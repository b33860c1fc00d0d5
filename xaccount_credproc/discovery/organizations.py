"""Organization discovery: one TOML profile per ACTIVE account of the AWS Organization, for
`init --from-organization`."""

from .. import debug
from ..config.model import Config
from ..config.rules import check_profile_name
from ..credentials.source_session import SourceSession
from . import naming


def discover(config_path: str, role_name: str, source_profile: str | None,
             template: str | None) -> tuple[list[dict], list[tuple[str, dict]]]:
    """(the organization's ACTIVE accounts, a new TOML profile for each that has none for
    `role_name` yet), listed with `source_profile` (else [defaults]' source, else "default")."""
    import os

    from ..config.loader import load
    from ..config.rules import VALIDATORS

    VALIDATORS["role_name"](role_name)
    from pathlib import Path

    loaded = (load(config_path) if os.path.exists(config_path)
              else Config(path=Path(config_path)))
    source = source_profile or loaded.defaults.get("source_profile", "default")
    accounts = list_active_accounts(source, loaded.defaults.get("region"))
    entries = new_profiles(
        accounts, role_name, template or naming.DEFAULT_TEMPLATE, loaded,
        source_profile if source_profile != loaded.defaults.get("source_profile") else None)
    return accounts, entries


def list_active_accounts(source_profile: str, region: str | None) -> list[dict]:
    """[{"id", "name"}] of every ACTIVE account (all pages of ListAccounts), sorted by name."""
    source = SourceSession(source_profile, region, "organization discovery")
    session = source.boto3_session()

    def call():
        from botocore.config import Config as BotoConfig

        client = session.client("organizations", region_name=region or "us-east-1",
                                config=BotoConfig(connect_timeout=5, read_timeout=30,
                                                  retries={"mode": "standard",
                                                           "max_attempts": 5}))
        debug.log(f"Organizations endpoint {client.meta.endpoint_url}")
        accounts = []
        # ListAccounts returns at most 20 accounts a page.
        pages = client.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 20})
        for page in pages:
            for account in page["Accounts"]:
                state = account.get("State") or account.get("Status")
                if state == "ACTIVE":
                    accounts.append({"id": account["Id"], "name": account["Name"]})
                else:
                    debug.log(f"skipping account {account['Id']} ({state})")
        return accounts

    accounts = source.call_api("ListAccounts", call)
    return sorted(accounts, key=lambda a: (a["name"].lower(), a["id"]))


def new_profiles(accounts: list[dict], role_name: str, template: str, existing: Config,
                 source_profile: str | None) -> list[tuple[str, dict]]:
    """(name, TOML values) for each account not already configured for this role."""
    naming.check_template(template)
    configured = set()
    for name in existing.names():
        profile = existing.resolve(name)
        configured.add((profile.account_id, profile.role_name))
    taken = set(existing.profiles) | set(existing.sources)
    bare_role = role_name.rsplit("/", 1)[-1]
    out = []
    for account in accounts:
        if (account["id"], bare_role) in configured:
            continue  # existing entries are kept as they are
        name = naming.profile_name(template, taken, account_name=account["name"],
                                   account_id=account["id"], role_name=bare_role)
        check_profile_name(name)
        values = {"account_id": account["id"], "role_name": role_name}
        if source_profile:
            values["source_profile"] = source_profile
        out.append((name, values))
    return out
