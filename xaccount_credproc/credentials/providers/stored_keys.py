"""A source whose long-term keys this tool keeps (credentials/stored/): no AWS profile behind
it."""

from ...backends import StoreError
from ...config import Profile
from ...errors import ConfigError
from .. import Credentials
from ..source_session import SourceSession
from .interface import NEVER


class StoredSource:
    """An IAM user's long-term keys kept by this tool (credentials/stored/), read on first use."""

    def __init__(self, profile: Profile, warnings: list[str]):
        self.profile = profile
        self.name = profile.chain[0].source_profile
        self.warnings = warnings
        self._session: SourceSession | None = None

    def keys(self):
        """The stored keys (a StoredKeys), read from their store now."""
        from ..stored import keys as stored_keys
        from ..stored.stores import store_for

        root = self.profile.chain[0]
        assert root.stored_source is not None  # this provider serves stored sources only
        try:
            store = store_for(root.stored_source, root.vault, self.warnings)
            keys = stored_keys.read(store, self.name)
        except StoreError as e:
            raise stored_keys.store_error(
                e, f"cannot read the stored keys of source '{self.name}'") from None
        if keys is None:
            raise ConfigError(f"source '{self.name}' has no keys stored in the OS keyring",
                              f"store them with 'xaccount-credproc source add {self.name}'")
        return keys

    @property
    def session(self) -> SourceSession:
        if self._session is None:
            p = self.profile
            self._session = SourceSession(p.root_source, p.region, p.name, self.warnings,
                                  keys=self.keys())
        return self._session

    def fetch(self) -> Credentials:
        keys = self.session.keys
        return Credentials(keys.access_key_id, keys.secret_access_key, None, NEVER)

    def forget(self) -> bool:
        return False

    def long_term(self) -> bool:
        return True
