"""Checked by mypy (tests/test_types.py), never run: every provider is a Provider, every source
a Source, and the resolver gives the providers what they ask of it."""

from xaccount_credproc.credentials.providers import (
    ChainResolver,
    IdentityCenterRole,
    LoginSource,
    LongTermKeys,
    MfaSession,
    Provider,
    RoleHop,
    Source,
    SsoSource,
    StoredSource,
)
from xaccount_credproc.credentials.resolver import Cached, Resolver


def every_provider_is_a_provider(cached: Cached, hop: RoleHop, session: MfaSession,
                                 keys: LongTermKeys, sso: SsoSource, stored: StoredSource,
                                 login: LoginSource) -> list[Provider]:
    return [cached, hop, session, keys, sso, stored, login]


def every_source_is_a_source(keys: LongTermKeys, sso: SsoSource, stored: StoredSource,
                             center: IdentityCenterRole, login: LoginSource) -> list[Source]:
    return [keys, sso, stored, center, login]


def the_resolver_composes_chains(resolver: Resolver) -> ChainResolver:
    return resolver
