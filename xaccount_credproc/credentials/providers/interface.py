"""What every provider is (`Provider`), what a chain starts from (`Source`), and what a
provider may ask of the resolver that composes it (`ChainResolver`): the seams of the providers,
checked by mypy (tests/typing/provider_conformance.py)."""

from collections.abc import Callable
from typing import Protocol

from ...config import Profile
from .. import Credentials
from ..source_session import SourceSession

# What a source's credentials that do not expire say as their expiration (9999-12-31).
NEVER = 253402300799


class Provider(Protocol):
    """Credentials from somewhere. `forget()` drops what the provider holds (AWS refused it)
    and says whether fetching again could give other credentials."""

    def fetch(self) -> Credentials: ...

    def forget(self) -> bool: ...


class Source(Provider, Protocol):
    """Where a chain starts: the first signer, and the STS client settings of the chain."""

    @property
    def session(self) -> SourceSession: ...

    def long_term(self) -> bool:
        """Whether these are an IAM user's long-term keys (GetSessionToken needs them, and a
        role over an hour must be assumed with them)."""
        ...


class ChainResolver(Protocol):
    """What a provider asks of the resolver that composes it (resolver.Resolver): the parts
    shared along a chain, each one per run."""

    profile: Profile  # the profile asked for: the end of the chain

    def chain(self, profile: Profile) -> Provider:
        """The profile's role credentials, behind its cache entry."""
        ...

    def mfa_session(self, profile: Profile, source: Source) -> Provider:
        """The MFA session of the profile's source and device, behind its cache entry."""
        ...

    def source_of(self, profile: Profile) -> Source: ...

    def can_cache(self, profile: Profile) -> bool:
        """Whether the profile's entries can be cached now (an MFA session must be)."""
        ...

    def with_code(self, profile: Profile, call: Callable[[str], Credentials]) -> Credentials:
        """`call(code)` with a code of the profile's MFA device no call has carried yet."""
        ...
