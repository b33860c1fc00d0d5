"""`source rotate`: replace a stored source's IAM key with a new one, as aws-vault does: create,
store, wait until AWS accepts it, delete the old one. The new key waits in `source/NAME/next`
until the old one is deleted, so a kill at any step leaves a working key stored and the next
`rotate` finishes the job."""

import time

from ..credentials.stored import keys as sources
from ..credentials.stored.stores import source_store
from ..errors import AwsError, ConfigError, UserError

ACCEPT_TIMEOUT = 20  # seconds a new IAM key may take to be accepted everywhere


class Rotated:
    """What `rotate` did, for the command to report."""

    def __init__(self, new, deleted: list[str], dropped: int):
        self.new, self.deleted, self.dropped = new, deleted, dropped


def rotate(config_path: str, name: str) -> Rotated:
    from ..config import loader, model
    from ..credentials.resolver import Resolver
    from ..credentials.source_session import SourceSession

    loaded = loader.load(config_path, lenient=True)
    source = model.source(loaded, name)
    store = source_store(source, loaded.vault_settings())
    old, pending = stored(store, name), stored(store, name, pending=True)
    if old is None:
        raise ConfigError(f"source '{name}' has no keys stored", "store them with "
                          f"'xaccount-credproc source add {name}'")
    as_user = loaded.source_as_profile(name)
    provider = Resolver(as_user)
    # IAM policies often demand MFA: sign IAM with the user's MFA session when there is one.
    signer = provider.user_session() if source.mfa_serial else None
    sts = SourceSession(name, source.region, name, keys=old)
    iam = sts.iam(signer)
    listed = sts.call_api("ListAccessKeys", lambda: iam.list_access_keys(
        UserName=old.user_name))["AccessKeyMetadata"]
    ids = [k["AccessKeyId"] for k in listed]

    if pending is not None and pending.access_key_id in ids:
        new = pending  # a rotation that was interrupted: finish it
    else:
        if pending is not None:
            sources.delete(store, name, pending=True)
        if len(ids) >= 2:
            others = [sources.mask(i) for i in ids if i != old.access_key_id]
            raise UserError(f"IAM user {old.user_name} already has 2 access keys (stored: "
                            f"{sources.mask(old.access_key_id)}; not stored here: "
                            f"{', '.join(others)}), the most AWS allows", "delete the one not "
                            f"stored here (aws iam delete-access-key --user-name "
                            f"{old.user_name} --access-key-id ID), then rotate again")
        created = sts.call_api("CreateAccessKey", lambda: iam.create_access_key(
            UserName=old.user_name))["AccessKey"]
        new = sources.StoredKeys(created["AccessKeyId"], created["SecretAccessKey"],
                                 old.user_arn)
        _write(store, name, new, pending=True)
    _wait_until_accepted(name, new, source.region)
    _write(store, name, new)
    # Fresh: the old key goes. Resumed: whichever key is not the new one (at most 2 exist).
    doomed = [k for k in ids if k != new.access_key_id] if new is pending else [
        old.access_key_id]
    iam_new = SourceSession(name, source.region, name, keys=new).iam(signer)
    for key_id in doomed:
        sts.call_api("DeleteAccessKey", lambda k=key_id: iam_new.delete_access_key(
            UserName=old.user_name, AccessKeyId=k))
    sources.delete(store, name, pending=True)
    return Rotated(new, doomed, _drop_sessions(loaded, name))


def stored(store, name: str, pending: bool = False):
    """The stored keys of source `name` (None if there are none). Raises UserError."""
    from ..backends import StoreError

    try:
        return sources.read(store, name, pending)
    except StoreError as e:
        raise sources.store_error(e, "cannot read the stored keys") from None


def _write(store, name: str, keys, pending: bool = False) -> None:
    from ..backends import StoreError

    try:
        sources.write(store, name, keys, pending)
    except StoreError as e:
        raise sources.store_error(e, "cannot store the new key") from None


def _wait_until_accepted(name: str, keys, region: str | None) -> None:
    """A new IAM key takes a few seconds to be accepted everywhere."""
    from ..credentials.source_session import SourceSession

    deadline = time.monotonic() + ACCEPT_TIMEOUT
    while True:
        sts = SourceSession(name, region, name, keys=keys)
        try:
            sts.caller_identity()
            return
        except AwsError:
            if time.monotonic() > deadline:
                raise AwsError(f"the new key {keys.access_key_id[-4:]} was not accepted within "
                               f"{ACCEPT_TIMEOUT}s", "run 'xaccount-credproc source rotate "
                               f"{name}' again later: it finishes the rotation") from None
            time.sleep(1)


def _drop_sessions(loaded, name: str) -> int:
    """Cached sessions made with the old key: the source's own and every profile's behind it."""
    from ..credentials.resolver import Resolver

    dropped = Resolver(loaded.source_as_profile(name)).clear_user_session()
    for profile_name in loaded.names():
        profile = loaded.resolve(profile_name)
        if profile.chain[0].source_profile == name and profile.chain[0].stored_source:
            dropped += Resolver(profile).clear()
    return dropped
