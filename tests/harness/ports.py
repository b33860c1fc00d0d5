"""Loopback ports no endpoint of this test run has used before.

The kernel hands out ephemeral ports again (about 8 repeats in a run of 700 listens over
28 000 ports), and a cache entry names its endpoint: a repeated port would serve one test the
entry another test cached at an emulator since stopped (its token unknown to the new one), or
make a server that must fail (an impostor, a closed port) look like a cache hit. So every
endpoint a test stands up takes a port this run never gave out: `claimed(port)` records it in
the run's own directory (conftest.py makes it, PORTS_CLAIMED_ENV) and says whether it was new.

A run that was killed never removes what it cached in the uid's kernel keyring (the run's end
does that), and those entries live on until their credentials expire (12 hours for an MFA
session): a later run on the same port would meet them. So a port is also noted, with the time,
in a ledger the runs of this uid share (LEDGER), and not given out again while an entry made
for it could still be alive. Should a busy day of runs use up the ephemeral range, a port from
the ledger is taken after all, rather than no port.
"""

import os
import time
from pathlib import Path

PORTS_CLAIMED_ENV = "XCP_TEST_PORTS_CLAIMED"
TRIES = 100
LEDGER = f"/tmp/xaccount-credproc-tests-{os.getuid()}.ports-used"
# The longest a cache entry the suite makes lives in the kernel keyring (an MFA session's
# default 12 hours), and a little more.
LEDGER_SECONDS = 12.5 * 3600


def claimed(port: int, ledger: bool = True) -> bool:
    """True when `port` was not used before in this run (and is now recorded), nor in an
    earlier run less than LEDGER_SECONDS ago (unless `ledger` is False); True outside a run
    that records ports."""
    directory = os.environ.get(PORTS_CLAIMED_ENV)
    if not directory:
        return True
    if ledger:
        try:
            if time.time() - os.stat(os.path.join(LEDGER, str(port))).st_mtime < LEDGER_SECONDS:
                return False
        except FileNotFoundError:
            pass
    if not claimed_once(str(port)):
        return False
    os.makedirs(LEDGER, mode=0o700, exist_ok=True)
    Path(LEDGER, str(port)).touch(mode=0o600)  # made, or its time brought up to now
    return True


def claimed_once(name: str) -> bool:
    """True when `name` (a port, an X display) was not claimed before in this run, and is now;
    True outside a run that records claims."""
    directory = os.environ.get(PORTS_CLAIMED_ENV)
    if not directory:
        return True
    try:
        os.close(os.open(os.path.join(directory, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                         0o600))
        return True
    except FileExistsError:
        return False


def fresh(make, port_of, close):
    """`make()` until `port_of(thing)` is a port never used before in this run, nor lately
    in another (the ledger's rule gives way in the second half of the tries)."""
    for attempt in range(TRIES):
        thing = make()
        if claimed(port_of(thing), ledger=attempt < TRIES // 2):
            return thing
        close(thing)
    raise RuntimeError("no loopback port this run has not used yet")


def fresh_socket():
    """A TCP socket bound to 127.0.0.1 on a port never used before in this run."""
    import socket

    def make():
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        return sock

    return fresh(make, lambda s: s.getsockname()[1], lambda s: s.close())
