"""One use per MFA code: AWS accepts a TOTP code once and refuses it ever after (RFC 6238
section 5.2; users of other tools hit it when one code goes to two calls: aws-cli issue 2279,
glassechidna/awsweb issue 5).

Two calls can need a code close together: the shared MFA session and a role longer than an hour
(which takes its own code), two `aws` commands one after the other, the credential server serving
both. Sent as they come, both would carry the device's current code, and the second would fail.
So every use of a device's code happens under the device's own lock (innermost: nothing else is
taken while it is held), and the last code AWS answered is remembered for `REMEMBER` seconds: in
memory for this process, and in the credential store for the next one (a code is a secret: the
OS keyring, never a file). The code source is then asked for another code: `mfa_process` again
until it prints the device's next code, a person for the next code (prompt/mfa.py).

A code that never reached AWS (the network failed before the request was sent) was not used.
"""

import time
from contextlib import contextmanager

from .. import debug
from ..backends import StoreError
from . import Credentials
from .cache import mfa_code_key

# A TOTP step is 30 s and AWS allows a step of drift either way: after this, the device shows
# another code whatever happened.
REMEMBER = 90
# The store entry: its AccessKeyId field says what it is; the code is its secret field.
MARK = "MFA-CODE-USED"

_spent: dict[str, tuple[str, float]] = {}  # this process's: device key -> (code, when)


class DeviceCodes:
    """The codes of one MFA device as one profile reaches it (its endpoint, its store)."""

    def __init__(self, profile, cache, warnings: list[str]):
        self.serial = profile.mfa_serial
        self.key = mfa_code_key(profile)
        self.cache = cache  # a CredentialCache, or None (cache = "none": this process only)
        self.warnings = warnings

    @contextmanager
    def turn(self):
        """Hold the device: from asking for a code until AWS has answered the call it went on."""
        from . import locking

        with locking.held(self.key, f"the MFA device {self.serial}", self.warnings):
            yield self

    def last(self) -> str | None:
        """The code AWS answered last, if that was under REMEMBER seconds ago."""
        now = time.time()
        code, when = _spent.get(self.key, (None, 0.0))
        if self.cache is not None:
            try:
                stored = self.cache.get(self.key)
            except StoreError as e:
                debug.log(f"cannot read the last MFA code's record: {e.what}")
                stored = None
            if stored is not None and stored.access_key_id == MARK and \
                    stored.expiration - REMEMBER > when:
                code, when = stored.secret_access_key, stored.expiration - REMEMBER
        return code if code is not None and now - when < REMEMBER else None

    def spent(self, code: str) -> None:
        """AWS has answered a call that carried `code`: never send it again."""
        now = time.time()
        _spent[self.key] = (code, now)
        if self.cache is None:
            return
        try:
            self.cache.put(self.key, Credentials(MARK, code, None, int(now + REMEMBER)))
        except StoreError as e:
            debug.log(f"cannot record the last MFA code: {e.what}")


def with_mfa_retries(mfa, call, codes: DeviceCodes | None):
    """Run `call(code)` with a code no call has carried yet, holding the device (see above);
    when AWS rejects the code and a person is typing, ask again."""
    from ..prompt.mfa import TERMINAL_TRIES
    from .sts import MfaRejected, NotSent

    @contextmanager
    def unheld():
        yield None

    with codes.turn() if codes is not None else unheld():
        rejected = False
        while True:
            code = mfa.code(rejected=rejected, avoid=codes.last() if codes else None)
            sent = True
            try:
                return call(code)
            except NotSent:
                sent = False
                raise
            except MfaRejected:
                if not mfa.interactive or mfa.asked >= TERMINAL_TRIES:
                    raise
                rejected = True
            finally:
                if codes is not None and sent:
                    codes.spent(code)
