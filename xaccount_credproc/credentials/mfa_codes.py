"""One use per MFA code: AWS accepts a TOTP code once and refuses it ever after (RFC 6238
section 5.2; users of other tools hit it when one code goes to two calls: aws-cli issue 2279,
glassechidna/awsweb issue 5).

Two calls can need a code close together: the shared MFA session and a role longer than an hour
(which takes its own code), two `aws` commands one after the other, the credential server serving
both. Sent as they come, both would carry the device's current code, and the second would fail.
So every use of a device's code happens under the device's own lock (innermost: nothing else is
taken while it is held), and the last code sent is remembered for `REMEMBER` seconds, recorded
before the request goes out (a caller killed while AWS answers leaves it behind): in memory for
this process, and for the next one in the kernel keyring on Linux (the kernel drops it at its
time), else in the credential store (a code is a secret: an OS keyring, never a file; with
cache = "none" and no kernel keyring there is no store, and only this process knows). The code
source is then asked for another code: `mfa_process` again until it prints the device's next
code, a person for the next code (prompt/mfa.py).

A code that never reached AWS (the network failed before the request was sent) was not used.
"""

import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Protocol

from .. import debug
from ..backends import StoreError
from ..config import Profile
from . import Credentials
from .cache import mfa_code_key

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from ..backends.store import SecretStore

# A TOTP step is 30 s and AWS allows a step of drift either way: after this, the device shows
# another code whatever happened.
REMEMBER = 90

_spent: dict[str, tuple[str, float]] = {}  # this process's: device key -> (code, when)


class CodeSource(Protocol):
    """Where one profile's MFA codes come from: `prompt.mfa.MfaCodeSource` (mfa_process, the
    terminal, a dialog), `server.supply.JobMfa` (never the terminal; a background renewal asks
    no one)."""

    @property
    def interactive(self) -> bool:
        """Whether asking again can give another answer (a person, not a program)."""
        ...

    @property
    def asked(self) -> int:
        """How many codes it has been asked for in this run."""
        ...

    def code(self, rejected: bool = False, avoid: str | None = None) -> str:
        """A well-formed code. `rejected`: AWS refused the one before (say so when asking);
        `avoid`: the code just used, which AWS would refuse: get the device's next one."""
        ...


class UsedCode:
    """The record of the code a device's last call carried, and when: kept beside the cache
    entries under the device's key (mfa-code/...), dropped REMEMBER seconds after it was sent.
    A record of its own, never a credential."""

    FORMAT = "xcpm1"

    def __init__(self, code: str, sent: float):
        self.code, self.sent = code, sent

    def encode(self) -> str:
        return f"{self.FORMAT} {self.code} {int(self.sent)}"

    @classmethod
    def decode(cls, value: str | None) -> "UsedCode | None":
        parts = (value or "").split(" ")
        if len(parts) != 3 or parts[0] != cls.FORMAT or not parts[1].isdigit() or \
                not (parts[2].isascii() and parts[2].isdigit()):
            return None
        return cls(parts[1], int(parts[2]))


class DeviceCodes:
    """The codes of one MFA device as one profile reaches it (its endpoint, its store)."""

    def __init__(self, profile: Profile, store_of: "Callable[[], SecretStore | None]",
                 store_failed: Callable[[StoreError], None], warnings: list[str]):
        """`store_of()`: the credential store in use now, or None (cache = "none": this
        process only); `store_failed(error)`: the resolver's answer to a failing store (another
        store may stand in, as for the credentials themselves)."""
        self.serial = profile.mfa_serial
        self.key = mfa_code_key(profile)
        # A store named in the config is the only one used (no kernel keyring behind its back).
        from ..backends import kernel_may_keep

        self.kernel_may_keep = kernel_may_keep(profile.keyring_backend)
        self._store_of = store_of
        self._store_failed = store_failed
        self.warnings = warnings

    @contextmanager
    def turn(self):
        """Hold the device: from asking for a code until AWS has answered the call it went on."""
        from . import locking

        with locking.held(self.key, f"the MFA device {self.serial}", self.warnings):
            yield self

    def _stored(self, use):
        """`use(store)` with the store the record lives in: the Linux kernel keyring where it
        answers and keyring_backend allows it (two system calls, and the kernel drops the record
        after REMEMBER seconds: no keyring library on the way to a prompt), else the credential
        store in use, and once more with the one standing in for it when that fails; None if
        there is none."""
        from ..backends import kernel_keys, store_named

        if (self.kernel_may_keep and sys.platform.startswith("linux")
                and kernel_keys.available() is None):
            try:
                return use(store_named("kernel"))
            except StoreError as e:
                debug.log(f"the kernel keyring cannot keep the last MFA code: {e.what}")
        for _ in range(2):
            store = self._store_of()
            if store is None:
                return None
            try:
                return use(store)
            except StoreError as e:
                self._store_failed(e)
        return None

    def last(self) -> str | None:
        """The code sent last, if that was under REMEMBER seconds ago."""
        now = time.time()
        code, when = _spent.get(self.key, (None, 0.0))
        stored = self._stored(lambda store: UsedCode.decode(store.get_many([self.key])[0]))
        if stored is not None and stored.sent > when:
            code, when = stored.code, stored.sent
        return code if code is not None and now - when < REMEMBER else None

    def spend(self, code: str) -> None:
        """`code` is about to be sent: never send it again. Recorded before the request goes
        out, so a caller killed while AWS answers leaves the record behind."""
        now = time.time()
        _spent[self.key] = (code, now)

        def record(store: "SecretStore") -> None:
            expires = int(now + REMEMBER) if store.traits().expires else None
            store.set(self.key, UsedCode(code, now).encode(), expires=expires)

        self._stored(record)

    def unspend(self, code: str, before: str | None) -> None:
        """The request never left this machine: the code was not used after all."""
        if _spent.get(self.key, (None,))[0] == code:
            del _spent[self.key]
        if before is None:
            self._stored(lambda store: store.delete(self.key))


def with_mfa_retries(mfa: CodeSource, call: Callable[[str], Credentials],
                     codes: DeviceCodes) -> Credentials:
    """Run `call(code)` with a code no call has carried yet, holding the device (see above);
    when AWS rejects the code and a person is typing, ask again."""
    from ..prompt.mfa import TERMINAL_TRIES
    from .source_session import MfaRejected, NotSent

    with codes.turn():
        rejected = False
        while True:
            last = codes.last()
            code = mfa.code(rejected=rejected, avoid=last)
            codes.spend(code)
            try:
                return call(code)
            except NotSent:
                codes.unspend(code, last)
                raise
            except MfaRejected:
                if not mfa.interactive or mfa.asked >= TERMINAL_TRIES:
                    raise
                rejected = True
