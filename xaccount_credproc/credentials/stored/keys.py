"""Long-term IAM user keys kept in the OS keyring instead of ~/.aws/credentials.

A stored source is declared in the TOML config as [sources.NAME] (which makes
`source_profile = "NAME"` name it, unambiguously) and its keys are one keyring entry,
`source/NAME`, in the store the cache uses. The entry never expires. While `source rotate` runs,
the new key also sits in `source/NAME/next` until the old one is deleted, so that a kill at any
step leaves a working key stored and the next `rotate` can finish the job.
"""

import re
import time

FORMAT = "xcs1"
ACCESS_KEY_RE = re.compile(r"AKIA[A-Z0-9]{16}")
SECRET_RE = re.compile(r"[A-Za-z0-9/+]{40}")


class StoredKeys:
    """An IAM user's access key pair, with what `source list` shows about it."""

    __slots__ = ("access_key_id", "secret_access_key", "user_arn", "created")

    def __init__(self, access_key_id: str, secret_access_key: str, user_arn: str,
                 created: float | None = None):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.user_arn = user_arn
        self.created = time.time() if created is None else created

    def __repr__(self) -> str:  # never the secret
        return f"StoredKeys({mask(self.access_key_id)}, {self.user_arn})"

    @property
    def user_name(self) -> str:
        return self.user_arn.rsplit("/", 1)[-1]

    @property
    def account_id(self) -> str:
        return self.user_arn.split(":")[4]

    def encode(self) -> str:
        return "\n".join([FORMAT, self.access_key_id, self.secret_access_key, self.user_arn,
                          str(int(self.created))])

    @classmethod
    def decode(cls, value: str | None) -> "StoredKeys | None":
        fields = (value or "").split("\n")
        if len(fields) != 5 or fields[0] != FORMAT or not fields[4].isdigit():
            return None
        if not (ACCESS_KEY_RE.fullmatch(fields[1]) and fields[2] and fields[3]):
            return None
        return cls(fields[1], fields[2], fields[3], int(fields[4]))


def entry_name(name: str, pending: bool = False) -> str:
    return f"source/{name}/next" if pending else f"source/{name}"


def mask(access_key_id: str) -> str:
    """An access key ID as `list` and messages show it: its last 4 characters."""
    return "…" + access_key_id[-4:]


def check_format(access_key_id: str, secret: str) -> None:
    """Refuse what cannot be an IAM user's long-term key pair, before AWS is asked.
    Raises UserError (never quoting the secret)."""
    from ...errors import UserError

    if access_key_id.startswith("ASIA"):
        raise UserError("that access key ID belongs to temporary credentials (ASIA…), which "
                        "expire", "store an IAM user's long-term key (AKIA…)")
    if not ACCESS_KEY_RE.fullmatch(access_key_id):
        raise UserError("that is not an access key ID (20 characters, AKIA…)",
                        "copy it again from the IAM console or your credentials file")
    if not SECRET_RE.fullmatch(secret):
        raise UserError("that is not a secret access key (40 characters)",
                        "copy it again; it is shown only when the key is created")


def read(store, name: str, pending: bool = False) -> StoredKeys | None:
    """The stored keys of source `name`. Raises StoreError."""
    return StoredKeys.decode(store.get_many([entry_name(name, pending)])[0])


def write(store, name: str, keys: StoredKeys, pending: bool = False) -> None:
    """Store and read back: a keyring that silently drops the entry must not lose the keys.
    Raises StoreError."""
    from ...backends import StoreError

    store.set(entry_name(name, pending), keys.encode())
    again = read(store, name, pending)
    if again is None or again.secret_access_key != keys.secret_access_key:
        raise StoreError("the OS keyring did not keep the keys just written",
                         "check that your keyring works ('xaccount-credproc doctor')")


def delete(store, name: str, pending: bool = False) -> bool:
    return store.delete(entry_name(name, pending))


def store_error(error, doing: str):
    """A UserError for the StoreError `error` met while `doing`: exit 2 when it is the vault
    file's (damaged, newer, a wrong passphrase: bad input), else 1."""
    from ...backends.vault import VaultError
    from ...errors import UserError

    out = UserError(f"{doing}: {error.what}", error.fix)
    if isinstance(error, VaultError):
        out.exit_code = 2
    return out
