"""A profile's role credentials: from the keyring cache, else fetched once under a lock.

The order matters: check the cache; on a miss take the key's lock, check again (a parallel caller
may have just fetched), and only then ask for MFA and call STS. Where MFA applies and the source
has long-term IAM user keys, one GetSessionToken (one MFA code) is cached as an "MFA session" and
signs AssumeRole for every role that shares the source and MFA device, for hours.
Keyring trouble never costs the user their credentials: it becomes a warning, and STS is called.
"""

import sys

from .. import debug
from ..backends import KeyringStore, StoreError
from ..config import Profile
from ..reentry import check_not_nested
from . import Credentials
from .cache import CredentialCache, mfa_session_key, role_key, user_session_key

# `sts` (and boto3 behind it) is imported only where STS is called.

# Only a cache miss needs `locking` (filelock) and `mfa` (re, subprocess, termios): they are
# imported where used, to keep the hit path short.

# AWS treats AssumeRole signed by a GetSessionToken session like role chaining: 1 hour at most
# (IAM User Guide, "Role chaining"; knowledge center "iam-role-chaining-limit").
SHARED_SESSION_MAX = 3600
# An MFA session only has to outlive the AssumeRole call it signs; the role session it yields
# lasts its own duration.
MIN_MFA_SESSION_LEFT = 300
# The longest session STS issues (GetSessionToken, 36 h), plus clock slack.
MAX_LIFETIME = 129600 + 300


def mfa_use(profile: Profile) -> tuple[str, str]:
    """How a profile's MFA is satisfied, as far as its config tells: ("shared", "") when its
    AssumeRole rides the shared MFA session (one code for every such role, renewed for hours),
    ("own code", why) when the code goes on its own AssumeRole, ("", "") without MFA. Whether
    the source has long-term keys (GetSessionToken needs them) is known only at STS."""
    p = profile
    if not p.mfa_serial:
        return "", ""
    if p.via is not None:
        return "own code", f"its source '{p.via.name}' is a role, not an IAM user"
    if not p.mfa_session:
        return "own code", "mfa_session = false"
    if p.cache == "none":
        return "own code", 'cache = "none": the MFA session could not be cached'
    if p.duration_seconds > SHARED_SESSION_MAX:
        return "own code", (f"duration_seconds {p.duration_seconds} is over {SHARED_SESSION_MAX}: "
                            "AWS limits a role assumed with an MFA session to 1 hour")
    if p.mfa_session_duration < p.duration_seconds:
        return "own code", (f"mfa_session_duration {p.mfa_session_duration}s is shorter than "
                            f"duration_seconds {p.duration_seconds}s")
    return "shared", ""


def attribution(profile: Profile) -> str:
    """What this profile's AssumeRole says about who is behind it (SourceIdentity, session
    tags), and the trust policy permissions that needs; "" when nothing."""
    p = profile
    parts, needs = [], []
    if p.source_identity:
        parts.append(f"source identity '{p.source_identity}'")
        needs.append("sts:SetSourceIdentity")
    if p.tags:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(p.tags.items()))
        transitive = (f" (transitive: {', '.join(p.transitive_tags)})"
                      if p.transitive_tags else "")
        parts.append(f"tags {tags}{transitive}")
        needs.append("sts:TagSession")
    if not parts:
        return ""
    return f"{'; '.join(parts)}; its trust policy must allow {' and '.join(needs)}"


class CredentialProvider:
    def __init__(self, profile: Profile, store=None, sts=None, mfa=None,
                 warnings: list[str] | None = None, min_left: float = 0, mfa_for=None):
        """`min_left`: cached credentials with no more than this left (or the profile's
        refresh_margin, whichever is more) are a miss; the credential server asks for more than
        a credential_process caller. `mfa_for(profile)`: where MFA codes come from, for this
        profile and every hop of its chain (the server's prompt never uses the terminal)."""
        self.profile = profile
        self.min_left = min_left
        self._mfa_for = mfa_for
        self.cache = (CredentialCache(store or KeyringStore(backend=profile.keyring_backend))
                      if profile.cache == "keyring" else None)
        self._sts = sts
        self._mfa = mfa
        self._fell_back = False
        self.warnings: list[str] = [] if warnings is None else warnings

    @property
    def sts(self):
        if self._sts is None:
            from .sts import StsSource

            # A chained role is signed by its source role's credentials; the AWS profile at the
            # start of the chain still supplies the client's settings (endpoint, proxy, ...).
            p = self.profile
            keys = self._stored_keys() if p.chain[0].stored_source is not None else None
            self._sts = StsSource(p.root_source, p.region, p.name, self.warnings, keys=keys)
        return self._sts

    def _stored_keys(self):
        """The stored source's long-term keys, read from the OS keyring only on a miss."""
        from ..errors import ConfigError
        from .stored import keys as sources
        from .stored.stores import store_for

        root = self.profile.chain[0]
        try:
            store = store_for(root.stored_source, root.vault, self.warnings)
            keys = sources.read(store, root.source_profile)
        except StoreError as e:
            raise sources.store_error(
                e, f"cannot read the stored keys of source '{root.source_profile}'") from None
        if keys is None:
            raise ConfigError(f"source '{root.source_profile}' has no keys stored in the OS "
                              "keyring", "store them with 'xaccount-credproc source add "
                              f"{root.source_profile}'")
        return keys

    @property
    def mfa(self):
        if self._mfa is None and self._mfa_for is not None:
            self._mfa = self._mfa_for(self.profile)
        if self._mfa is None:
            from ..prompt.mfa import MfaCodeSource

            p = self.profile
            self._mfa = MfaCodeSource(p.mfa_serial, p.name, p.mfa_process,
                                      prompt=p.mfa_prompt, role_arn=p.role_arn)
        return self._mfa

    # -- the one public path -------------------------------------------------------------------

    def credentials(self) -> Credentials:
        profile = self.profile
        if self.cache is None:
            debug.log('cache = "none": calling STS')
            check_not_nested(profile.name)
            return self._fetch()
        def fetched() -> Credentials:
            fresh = self._fetch()
            if fresh.seconds_left() <= profile.refresh_margin:
                debug.log(f"STS issued credentials with only {fresh.seconds_left():.0f}s left; "
                          "they are returned but will not be served from the cache")
            return fresh

        return self._cached_or_fetched(role_key(profile),
                                       max(profile.refresh_margin, self.min_left),
                                       f"profile '{profile.name}'", fetched)

    def _cached_or_fetched(self, key: str, margin: float, what: str, fetch) -> Credentials:
        """The cached entry `key`, else `fetch()` once under the key's lock (a parallel caller
        may have fetched it while we waited), stored."""
        hit = self._cached(key, margin)
        if hit:
            return hit
        # Before the lock: a loop back into this helper would wait for the lock it holds.
        check_not_nested(self.profile.name)

        from . import locking

        with locking.held(key, what, self.warnings) as lock:
            hit = self._cached(key, margin)
            if hit:
                return hit
            fresh = lock.fetch(fetch)
            self._store(key, fresh)
            return fresh

    # -- cache ---------------------------------------------------------------------------------

    def _cached(self, key: str, margin: float) -> Credentials | None:
        if self.cache is None:
            return None
        try:
            credentials = self.cache.get(key)
        except StoreError as e:
            self._keyring_failed(e)
            return self._cached(key, margin)  # from the fallback, if there is one
        if credentials is None:
            debug.log(f"cache miss for {key}")
            return None
        left = credentials.seconds_left()
        if left > MAX_LIFETIME:
            # No STS session lasts this long (36 h is the most): not an entry of ours to trust.
            debug.log(f"cached {key} claims {left:.0f}s left, more than any STS session: a miss")
            return None
        if left <= margin:
            debug.log(f"cached {key} has {left:.0f}s left, within the {margin:g}s margin: "
                      "refreshing")
            return None
        debug.log(f"cache hit for {key}: {left:.0f}s left")
        return credentials

    def _store(self, key: str, credentials: Credentials) -> None:
        if self.cache is None:
            return
        try:
            self.cache.put(key, credentials)
        except StoreError as e:
            self._keyring_failed(e)
            self._store(key, credentials)  # into the fallback, if there is one

    def _keyring_failed(self, error: StoreError) -> None:
        """Say it once, and stop using that store for the rest of this run. On Linux, with
        keyring_backend = "auto", the kernel keyring takes over for the run (and for the
        parallel callers of this moment): a lock holder's credentials then still reach the
        callers waiting for it, so a hung or broken Secret Service costs one STS call and one
        MFA prompt, not one per caller. Nothing secret goes to disk."""
        self.cache = self._fallback_cache()
        what = str(error)
        if self.cache is not None:
            what = what.replace("so credentials are not cached",
                                "so credentials are kept in the kernel keyring meanwhile")
        self.warnings.append(what)

    def _fallback_cache(self):
        if self._fell_back or self.cache is None or not sys.platform.startswith("linux"):
            return None
        self._fell_back = True
        if not self.cache.store.replaceable():
            return None  # a store chosen by name, or the kernel keyring itself, failed
        from ..backends import kernel_keys

        if kernel_keys.available() is not None:  # a seccomp profile refuses keyctl, ...
            return None
        debug.log("the kernel keyring stands in for the failed store in this run")
        return CredentialCache(KeyringStore(backend="kernel"))

    # -- fetching ------------------------------------------------------------------------------

    def _assume(self, code: str | None = None, signed_by: Credentials | None = None,
                signer: str = "the cached MFA session"):
        p = self.profile
        tags, transitive = p.tags_to_send()
        return self.sts.assume_role(
            role_arn=p.role_arn, session_name=p.role_session_name, duration=p.duration_seconds,
            external_id=p.external_id, serial=p.mfa_serial if code else None, code=code,
            signed_by=signed_by, signer=signer, source_identity=p.source_identity,
            tags=tags, transitive_tags=transitive)

    def _fetch(self) -> Credentials:
        if self.profile.via is not None:
            return self._fetch_chained()
        if self.profile.duration_seconds > SHARED_SESSION_MAX:
            self._require_long_term_source()
        if not self.profile.mfa_serial:
            return self._assume()
        reason = self._why_not_mfa_session()
        if reason is None:
            return self._assume_with_mfa_session()
        debug.log(f"MFA goes on AssumeRole itself: {reason}")
        return self._with_code(lambda code: self._assume(code=code))

    def _with_code(self, call):
        """`call(code)` with a fresh code of the profile's device (credentials/mfa_codes.py)."""
        from .mfa_codes import DeviceCodes, with_mfa_retries

        return with_mfa_retries(self.mfa, call, DeviceCodes(
            self.profile, lambda: self.cache, self._keyring_failed, self.warnings))

    def _require_long_term_source(self) -> None:
        """A role session over an hour needs AssumeRole signed by long-term keys: AWS refuses
        one signed by temporary credentials (SSO, a role, another tool's session). Said before
        the call, naming the real rule."""
        p = self.profile
        if not self.sts.source_is_long_term():
            from ..errors import ConfigError

            raise ConfigError(
                f"profile '{p.name}': duration_seconds {p.duration_seconds} is over "
                f"{SHARED_SESSION_MAX}, but source profile '{p.root_source}' has temporary "
                "credentials (SSO, a role or another tool's session), and AWS limits a role "
                "assumed with temporary credentials to 1 hour",
                f"set duration_seconds = {SHARED_SESSION_MAX} or less for '{p.name}', or use a "
                "source with long-term IAM user keys")

    def _fetch_chained(self) -> Credentials:
        """AssumeRole signed by the source profile's role credentials, which come from that
        profile's own provider: its cache entry, lock, refresh margin and MFA. Ten spokes behind
        one hub therefore share one hub session."""
        assert self.profile.via is not None  # a chained profile (see _fetch)
        hub = CredentialProvider(self.profile.via, warnings=self.warnings,
                                 min_left=self.min_left, mfa_for=self._mfa_for)
        signer, fresh = self._signed_retrying_once(
            lambda: (hub.credentials(), True), self._assume_signed_by, hub.forget,
            f"the session of '{hub.profile.name}'")
        if signer.expiration < fresh.expiration:
            # Never served past the session that signed it: by then the source is renewed.
            fresh = Credentials(fresh.access_key_id, fresh.secret_access_key,
                                fresh.session_token, signer.expiration)
        return fresh

    def _signed_retrying_once(self, signer_of, assume, forget, whose: str):
        """(signer, assume(signer)) with the signer from `signer_of()` ((credentials, whether
        cached)). When AWS refuses a cached signer (revoked, expired) it is dropped and the call
        made once more with a fresh one."""
        from ..errors import AwsError
        from .sts import EXPIRED_CODES, INVALID_CODES

        signer, cached = signer_of()
        try:
            return signer, assume(signer)
        except AwsError as e:
            if not cached or e.aws_code not in EXPIRED_CODES + INVALID_CODES:
                raise
            debug.log(f"AWS refused {whose} ({e.aws_code}); getting a new one")
            forget()
            signer, _ = signer_of()
            return signer, assume(signer)

    def _assume_signed_by(self, signer: Credentials) -> Credentials:
        assert self.profile.via is not None  # a chained profile (see _fetch)
        via = f"the session of profile '{self.profile.via.name}'"
        if self.profile.mfa_serial:  # MFA at this hop: on its AssumeRole (no MFA session here)
            return self._with_code(lambda code: self._assume(
                code=code, signed_by=signer, signer=via))
        return self._assume(signed_by=signer, signer=via)

    def user_session(self) -> Credentials:
        """For a stored source's IAM user itself (config.source_as_profile): its own session,
        from GetSessionToken, with its MFA device if it has one. With MFA it is the very MFA
        session that role profiles behind the same source and device use: one code for all."""
        p = self.profile
        return self._cached_or_fetched(self._user_session_key(), p.refresh_margin,
                                       f"the session of source '{p.name}'", self._new_session)

    def _user_session_key(self) -> str:
        p = self.profile
        return mfa_session_key(p) if p.mfa_serial else user_session_key(p)

    def _new_session(self) -> Credentials:
        """GetSessionToken, with the profile's MFA device when it has one."""
        p = self.profile
        if p.mfa_serial:
            return self._with_code(lambda code: self.sts.get_session_token(
                serial=p.mfa_serial, code=code, duration=p.mfa_session_duration))
        return self.sts.get_session_token(serial=None, code=None,
                                          duration=p.mfa_session_duration)

    def clear_user_session(self) -> int:
        """Remove a stored source's own cached session (see user_session). Raises StoreError."""
        if self.cache is None:
            return 0
        return int(self.cache.delete(self._user_session_key()))

    def forget(self) -> None:
        """Drop this profile's cached role credentials (AWS refused them)."""
        self._forget(role_key(self.profile))

    def _why_not_mfa_session(self) -> str | None:
        use, reason = mfa_use(self.profile)
        if use != "shared":
            return reason
        if self.cache is None:
            return "the MFA session could not be cached"
        if not self.sts.source_is_long_term():
            return ("the source profile has temporary credentials, and GetSessionToken needs "
                    "long-term IAM user keys")
        return None

    def _assume_with_mfa_session(self) -> Credentials:
        _, fresh = self._signed_retrying_once(
            self._mfa_session, lambda session: self._assume(signed_by=session),
            lambda: self._forget(mfa_session_key(self.profile)), "the cached MFA session")
        return fresh

    def _mfa_session(self) -> tuple[Credentials, bool]:
        p = self.profile
        key = mfa_session_key(p)
        hit = self._cached(key, MIN_MFA_SESSION_LEFT)
        if hit:
            return hit, True

        from . import locking

        with locking.held(key, f"the MFA session of {p.mfa_serial}", self.warnings) as lock:
            hit = self._cached(key, MIN_MFA_SESSION_LEFT)
            if hit:
                return hit, True
            session = lock.fetch(self._new_session)
            self._store(key, session)
            return session, False

    def _forget(self, key: str) -> None:
        if self.cache is not None:
            try:
                self.cache.delete(key)
            except StoreError as e:
                self._keyring_failed(e)

    # -- for `list` and `clear` ----------------------------------------------------------------

    def cached(self) -> tuple[Credentials | None, Credentials | None]:
        """(role credentials, MFA session) as cached now, expired or not. Raises StoreError."""
        if self.cache is None:
            return None, None
        role = self.cache.get(role_key(self.profile))
        session = (self.cache.get(mfa_session_key(self.profile))
                   if self.profile.mfa_serial and self.profile.via is None else None)
        return role, session

    def clear(self) -> int:
        """Remove this profile's cached entries (its MFA session too); how many there were.
        Raises StoreError."""
        if self.cache is None:
            return 0
        keys = [role_key(self.profile)]
        if self.profile.mfa_serial and self.profile.via is None:
            keys.append(mfa_session_key(self.profile))
        return sum(self.cache.delete(key) for key in keys)
