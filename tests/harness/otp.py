"""A virtual MFA device as AWS's are: RFC 6238 TOTP, HMAC-SHA1, 6 digits, a 30-second step.

Run as a program it is an OTP tool for `mfa_process`: it prints the current code of the seed
kept in the file it is given (never a seed on a command line), and with a second file, adds a
line to it each time it is asked. A file that starts with "codes" lists a device's next codes
instead: each run prints (and removes) the first. `python -S` is enough.
"""

import hashlib
import hmac
import struct
import sys
import time

PERIOD = 30
DIGITS = 6


def code_at(seed: bytes, moment: float, period: int = PERIOD) -> str:
    """The code a TOTP device with `seed` shows at `moment` (RFC 6238, RFC 4226's truncation)."""
    counter = struct.pack(">Q", int(moment // period))
    mac = hmac.new(seed, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** DIGITS).zfill(DIGITS)


def appears(code: str, data: bytes | str) -> bool:
    """Whether an MFA code stands in `data` as a number of its own: six digits inside a longer
    number (an account ID, a timestamp) are not a leak of the code."""
    import re

    if isinstance(data, str):
        data = data.encode()
    return re.search(rb"(?<![0-9])" + code.encode() + rb"(?![0-9])", data) is not None


def main(seed_file: str, counter: str | None = None) -> int:
    if counter:
        with open(counter, "a") as f:
            f.write("asked\n")
    with open(seed_file, "rb") as f:
        seed = f.read().decode()
    if seed.startswith("codes\n"):
        # A device whose next codes the test listed: each run gives the next one, as a person
        # who waits for the device's next code would (for tests that are not about the wait).
        codes = seed.split()[1:]
        with open(seed_file, "w") as f:
            f.write("\n".join(["codes", *codes[1:]]) + "\n")
        print(codes[0])
        return 0
    print(code_at(bytes.fromhex(seed.strip()), time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
