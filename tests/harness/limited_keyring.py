"""A keyring backend with Windows Credential Manager's limit: at most 2560 bytes of UTF-16 per
secret. Selected with PYTHON_KEYRING_BACKEND=tests.harness.limited_keyring.LimitedKeyring; values
live in the JSON file named by LIMITED_KEYRING_FILE (base64, so secret scans of the test's files
do not trip over this stand-in), and the largest secret ever offered is recorded there too."""

import base64
import fcntl
import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError, PasswordSetError

LIMIT = 2560


class LimitedKeyring(KeyringBackend):
    priority = 1

    def _update(self, change=None):
        path = os.environ["LIMITED_KEYRING_FILE"]
        with open(path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            data = json.loads(f.read() or '{"items": {}, "largest": 0}')
            result = change(data) if change else None
            f.seek(0)
            f.truncate()
            f.write(json.dumps(data))
            return data, result

    def get_password(self, service, username):
        data, _ = self._update()
        value = data["items"].get(f"{service}\0{username}")
        return base64.b64decode(value).decode("utf-8") if value is not None else None

    def set_password(self, service, username, password):
        size = len(password.encode("utf-16-le"))

        def change(data):
            data["largest"] = max(data["largest"], size)
            if size > LIMIT:
                return False
            data["items"][f"{service}\0{username}"] = base64.b64encode(
                password.encode("utf-8")).decode()
            return True

        _, stored = self._update(change)
        if not stored:
            raise PasswordSetError(f"secret of {size} bytes exceeds the {LIMIT}-byte limit")

    def delete_password(self, service, username):
        _, found = self._update(lambda data: data["items"].pop(f"{service}\0{username}", None))
        if found is None:
            raise PasswordDeleteError("not found")
