"""Loopback ports no endpoint of this test run has used before.

The kernel hands out ephemeral ports again (about 8 repeats in a run of 700 listens over
28 000 ports), and a cache entry names its endpoint: a repeated port would serve one test the
entry another test cached at an emulator since stopped (its token unknown to the new one), or
make a server that must fail (an impostor, a closed port) look like a cache hit. So every
endpoint a test stands up takes a port this run never gave out: `claimed(port)` records it in
the run's own directory (conftest.py makes it, PORTS_CLAIMED_ENV) and says whether it was new.
"""

import os

PORTS_CLAIMED_ENV = "XCP_TEST_PORTS_CLAIMED"
TRIES = 100


def claimed(port: int) -> bool:
    """True when `port` was not used before in this run (and is now recorded); True outside a
    run that records ports."""
    directory = os.environ.get(PORTS_CLAIMED_ENV)
    if not directory:
        return True
    try:
        os.close(os.open(os.path.join(directory, str(port)),
                         os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        return False


def fresh(make, port_of, close):
    """`make()` until `port_of(thing)` is a port never used before in this run."""
    for _ in range(TRIES):
        thing = make()
        if claimed(port_of(thing)):
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
