"""The resolver: a profile's credentials through its chain of providers, each cached entry under
its lock, with one refresh policy.

A profile resolves to a chain (the providers themselves are in `providers/`, imported only on a
miss):

    source (LongTermKeys | SsoSource | StoredSource)
      -> [MfaSession: GetSessionToken with one code, cached, shared by the roles behind it]
      -> RoleHop (AssumeRole), cached -> RoleHop of a chained profile, cached -> ...

`Cached` puts a provider behind a cache entry through `fetched_once` (credentials/__init__.py:
read; on a miss the key's lock, read again, and only then fetch), and stores what the provider
fetched.
A hit builds nothing but the outermost `Cached`: no provider, no boto3.
`RefreshPolicy` says when cached credentials are still good enough: `credential-process` uses
the profile's refresh margin, the credential server its 16- and 20-minute rules (server/supply.py).
Keyring trouble never costs the user their credentials: it becomes a warning, and STS is called.
"""

import sys

from .. import debug
from ..backends import NOT_CACHED, STOOD_IN, StoreError, store_named
from ..config import Profile
from ..reentry import check_not_nested
from . import Credentials, fetched_once
from .cache import CredentialCache, mfa_session_key, role_key, user_session_key

TYPING = False  # True for mypy (pyproject.toml): the interfaces, without importing them
if TYPING:
    from collections.abc import Callable

    from ..backends.store import SecretStore
    from .mfa_codes import CodeSource
    from .providers import Provider, Source
    from .sign_in import SignIn

# Only a miss needs `providers` (and boto3 behind it), `locking` (filelock) and `prompt.mfa`
# (re, subprocess, termios): they are imported where used, to keep the hit path short.

# The longest session STS issues (GetSessionToken, 36 h), plus clock slack.
MAX_LIFETIME = 129600 + 300
# An MFA session only has to outlive the AssumeRole call it signs; the role session it yields
# lasts its own duration.
MIN_MFA_SESSION_LEFT = 300


class RefreshPolicy:
    """When credentials in hand are good enough to hand out, and when they are renewed.

    `min_left`: cached credentials with no more than this left (or the profile's refresh_margin,
    whichever is more) are a miss. `renew_at`: a holder of warm copies (the credential server)
    renews them from this much left, in the background. A signer (the MFA session) needs only
    `signer_min_left`: it must outlive the call it signs, not the session it yields."""

    def __init__(self, min_left: float = 0, renew_at: float | None = None,
                 signer_min_left: float = MIN_MFA_SESSION_LEFT):
        self.min_left = min_left
        self.renew_at = renew_at
        self.signer_min_left = signer_min_left

    def margin(self, profile: Profile) -> float:
        return max(profile.refresh_margin, self.min_left)

    def for_renewal(self) -> "RefreshPolicy":
        """The policy of a background renewal: what is due for renewal is a miss."""
        assert self.renew_at is not None
        return RefreshPolicy(self.renew_at, self.renew_at, self.signer_min_left)

    @staticmethod
    def usable(credentials: Credentials, margin: float, what: str) -> bool:
        """Whether cached `credentials` may be handed out with `margin` seconds to spare."""
        left = credentials.seconds_left()
        if left > MAX_LIFETIME:
            # No STS session lasts this long (36 h is the most): not an entry of ours to trust.
            debug.log(f"cached {what} claims {left:.0f}s left, more than any STS session: a miss")
            return False
        if left <= margin:
            debug.log(f"cached {what} has {left:.0f}s left, within the {margin:g}s margin: "
                      "refreshing")
            return False
        return True

    def state(self, credentials: Credentials | None, profile: Profile,
              now: float | None = None) -> str:
        """What `list` says of cached credentials: "yes" (handed out as they are),
        "refresh due" (within the refresh margin: the next call renews them), "expired", or
        "no" (none cached)."""
        if credentials is None:
            return "no"
        left = credentials.seconds_left(now)
        return "yes" if left > self.margin(profile) else "expired" if left <= 0 else \
            "refresh due"

    def serves(self, credentials: Credentials, now: float | None = None) -> bool:
        """Whether warm credentials may still be served (more than `min_left` left)."""
        return credentials.seconds_left(now) > self.min_left

    def short_lived(self, credentials: Credentials, asked_at: float) -> bool:
        """Whether STS issues sessions shorter than `renew_at`: those are renewed near the
        serving line instead, or they would be renewed without end."""
        assert self.renew_at is not None
        return credentials.expiration - asked_at <= self.renew_at

    def renewal_due(self, credentials: Credentials, short_lived: bool, now: float) -> bool:
        assert self.renew_at is not None
        due = self.min_left + 30 if short_lived else self.renew_at
        return credentials.seconds_left(now) < due


# What `credential-process` hands out: anything beyond the profile's refresh margin.
CREDENTIAL_PROCESS = RefreshPolicy()


class ProfileCache:
    """One profile's way into the credential cache: the store its config names and, on Linux,
    the kernel keyring standing in for it when it fails (`failed`). No cache with
    cache = "none"."""

    def __init__(self, profile: Profile, store: "SecretStore | None", warnings: list[str]):
        self.name = profile.name
        self.disabled = profile.cache != "keyring"
        self.cache: CredentialCache | None = None
        if not self.disabled:
            self.cache = CredentialCache(store or store_named(profile.keyring_backend))
        self.warnings = warnings
        self._fell_back = False

    def get(self, key: str, margin: float) -> Credentials | None:
        if self.cache is None:
            return None
        try:
            credentials = self.cache.get(key)
        except StoreError as e:
            self.failed(e)
            return self.get(key, margin)  # from the stand-in, if there is one
        if credentials is None:
            debug.log(f"cache miss for {key}")
            return None
        if not RefreshPolicy.usable(credentials, margin, key):
            return None
        debug.log(f"cache hit for {key}: {credentials.seconds_left():.0f}s left")
        return credentials

    def put(self, key: str, credentials: Credentials) -> None:
        if self.cache is None:
            return
        try:
            self.cache.put(key, credentials)
        except StoreError as e:
            self.failed(e)
            self.put(key, credentials)  # into the stand-in, if there is one

    def drop(self, key: str) -> None:
        if self.cache is not None:
            try:
                self.cache.delete(key)
            except StoreError as e:
                self.failed(e)

    def failed(self, error: StoreError) -> None:
        """Say it once, and stop using that store for the rest of this run. On Linux, with
        keyring_backend = "auto", the kernel keyring takes over for the run (and for the
        parallel callers of this moment): a lock holder's credentials then still reach the
        callers waiting for it, so a hung or broken Secret Service costs one STS call and one
        MFA prompt, not one per caller. Nothing secret goes to disk."""
        self.cache = self._stand_in(error)
        self.warnings.append(error.so(NOT_CACHED if self.cache is None else STOOD_IN))

    def _stand_in(self, error: StoreError) -> CredentialCache | None:
        if self._fell_back or self.cache is None or not sys.platform.startswith("linux"):
            return None
        self._fell_back = True
        if not error.stand_in:
            return None  # a store chosen by name, or the kernel keyring itself, failed
        from ..backends import kernel_keys

        if kernel_keys.available() is not None:  # a seccomp profile refuses keyctl, ...
            return None
        debug.log("the kernel keyring stands in for the failed store in this run")
        return CredentialCache(store_named("kernel"))


class Cached:
    """A provider behind a cache entry: the entry `key` while it has more than `margin` left,
    else the provider `inner()` makes, fetched once under the key's lock and stored. `inner` is
    called only on a miss, so a hit builds no provider. Itself a provider: a cached signer
    (an MFA session, a chain's hub) is what the next hop fetches."""

    def __init__(self, key: str, what: str, inner: "Callable[[], Provider]",
                 cache: ProfileCache, margin: float):
        self.key, self.what, self.margin = key, what, margin
        self._inner = inner
        self.cache = cache
        self.was_cached = False

    def fetch(self) -> Credentials:
        self.was_cached = False

        def read() -> Credentials | None:
            hit = self.cache.get(self.key, self.margin)
            self.was_cached = hit is not None
            return hit

        def fetch_and_store() -> Credentials:
            fresh = self._fetch_inner()
            self.cache.put(self.key, fresh)
            return fresh

        if self.cache.disabled:
            check_not_nested(self.cache.name)
            debug.log(f'cache = "none": fetching {self.what}')
            return self._fetch_inner()
        return fetched_once(self.key, self.what, read, fetch_and_store, self.cache.warnings,
                            before_lock=lambda: check_not_nested(self.cache.name))

    def _fetch_inner(self) -> Credentials:
        fresh = self._inner().fetch()
        if fresh.seconds_left() <= self.margin:
            debug.log(f"{self.what}: STS issued credentials with only {fresh.seconds_left():.0f}s "
                      "left; they are returned but will not be served from the cache")
        return fresh

    def forget(self) -> bool:
        """Drop the entry (AWS refused it); whether a fetch now would get other credentials."""
        self.cache.drop(self.key)
        was, self.was_cached = self.was_cached, False
        return was


class Resolver:
    """A profile's credentials, as `credential-process`, `exec`, the server and the other
    commands get them. One resolver per fetch: it holds the run's warnings, the policy, where
    MFA codes come from, each profile's cache and each source, shared along the chain."""

    def __init__(self, profile: Profile, store: "SecretStore | None" = None,
                 warnings: list[str] | None = None, policy: RefreshPolicy = CREDENTIAL_PROCESS,
                 mfa_for: "Callable[[Profile], CodeSource] | None" = None,
                 sign_in: "SignIn | None" = None):
        """`store`: the profile's store (else the one its config names). `mfa_for(profile)`:
        where MFA codes come from, for this profile and every hop of its chain (the server's
        prompt never uses the terminal). `sign_in(session, why)`: how a person signs in to IAM
        Identity Center again when its token cannot be renewed (None: the person at this
        terminal or desktop)."""
        self.profile = profile
        self.sign_in = sign_in
        self.policy = policy
        self.warnings: list[str] = [] if warnings is None else warnings
        self._mfa_for = mfa_for
        self._caches: dict[str, ProfileCache] = {}
        self._sources: dict[tuple, Source] = {}
        self._codes: dict[str, CodeSource] = {}
        self.cache = self.cache_of(profile, store)

    # -- the chain -----------------------------------------------------------------------------

    def chain(self, profile: Profile) -> Cached:
        """The profile's role credentials: its cache entry, in front of its role hop."""
        def hop() -> "Provider":
            from .providers import role_hop

            return role_hop(self, profile)

        return Cached(role_key(profile), f"profile '{profile.name}'", hop,
                      self.cache_of(profile), self.policy.margin(profile))

    def mfa_session(self, profile: Profile, source: "Source") -> Cached:
        """The MFA session of the profile's source and device (GetSessionToken), cached: one
        code for every role behind them, for hours."""
        def session() -> "Provider":
            from .providers import MfaSession

            return MfaSession(profile, source, self)

        return Cached(mfa_session_key(profile), f"the MFA session of {profile.mfa_serial}",
                      session, self.cache_of(profile), self.policy.signer_min_left)

    def source_of(self, profile: Profile) -> "Source":
        """Where the profile's chain starts: one source object per source and region in a run
        (a stored source's keys are read once)."""
        root = profile.chain[0]
        key = (root.source_profile, profile.region)
        if key not in self._sources:
            from .providers import source_for

            self._sources[key] = source_for(profile, self.warnings, self.sign_in)
        return self._sources[key]

    def can_cache(self, profile: Profile) -> bool:
        return self.cache_of(profile).cache is not None

    def cache_of(self, profile: Profile, store: "SecretStore | None" = None) -> ProfileCache:
        if profile.name not in self._caches:
            self._caches[profile.name] = ProfileCache(profile, store, self.warnings)
        return self._caches[profile.name]

    def mfa(self, profile: Profile) -> "CodeSource":
        """Where the profile's MFA codes come from (one code source per profile in a run)."""
        if profile.name not in self._codes:
            if self._mfa_for is not None:
                self._codes[profile.name] = self._mfa_for(profile)
            else:
                from ..prompt.mfa import MfaCodeSource

                assert profile.mfa_serial is not None  # asked only for a profile with MFA

                self._codes[profile.name] = MfaCodeSource(
                    profile.mfa_serial, profile.name, profile.mfa_process,
                    prompt=profile.mfa_prompt, role_arn=profile.role_arn)
        return self._codes[profile.name]

    def with_code(self, profile: Profile,
                  call: "Callable[[str], Credentials]") -> Credentials:
        """`call(code)` with a fresh code of the profile's device (credentials/mfa_codes.py)."""
        from .mfa_codes import DeviceCodes, with_mfa_retries

        cache = self.cache_of(profile)
        return with_mfa_retries(self.mfa(profile), call, DeviceCodes(
            profile, lambda: cache.cache.store if cache.cache is not None else None,
            cache.failed, self.warnings))

    # -- what the commands ask -----------------------------------------------------------------

    def credentials(self) -> Credentials:
        return self.chain(self.profile).fetch()

    def user_session(self) -> Credentials:
        """For a stored source's IAM user itself (config.source_as_profile): its own session,
        from GetSessionToken, with its MFA device if it has one. With MFA it is the very MFA
        session that role profiles behind the same source and device use: one code for all."""
        p = self.profile
        if p.mfa_serial:
            return self.mfa_session(p, self.source_of(p)).fetch()

        def session() -> "Provider":
            from .providers import MfaSession

            return MfaSession(p, self.source_of(p), self)

        return Cached(user_session_key(p), f"the session of source '{p.name}'", session,
                      self.cache, p.refresh_margin).fetch()

    def _user_session_key(self) -> str:
        p = self.profile
        return mfa_session_key(p) if p.mfa_serial else user_session_key(p)

    def clear_user_session(self) -> int:
        """Remove a stored source's own cached session (see user_session). Raises StoreError."""
        if self.cache.cache is None:
            return 0
        return int(self.cache.cache.delete(self._user_session_key()))

    def forget(self) -> None:
        """Drop this profile's cached role credentials (AWS refused them)."""
        self.cache.drop(role_key(self.profile))

    def _keys(self) -> list[str]:
        keys = [role_key(self.profile)]
        if self.profile.mfa_serial and self.profile.via is None:
            keys.append(mfa_session_key(self.profile))
        return keys

    def cached(self) -> tuple[Credentials | None, Credentials | None]:
        """(role credentials, MFA session) as cached now, expired or not. Raises StoreError."""
        cache = self.cache.cache
        if cache is None:
            return None, None
        found = [cache.get(key) for key in self._keys()]
        return found[0], found[1] if len(found) > 1 else None

    def clear(self) -> int:
        """Remove this profile's cached entries (its MFA session too); how many there were.
        Raises StoreError."""
        cache = self.cache.cache
        if cache is None:
            return 0
        return sum(cache.delete(key) for key in self._keys())
