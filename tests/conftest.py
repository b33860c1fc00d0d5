import logging

import pytest

from tests.harness.sts_emulator import StsEmulator
from tests.harness.world import World


@pytest.fixture(scope="session")
def sts_server():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = StsEmulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sts(sts_server):
    """The recording STS server on 127.0.0.1, emptied for each test."""
    sts_server.reset()
    sts_server.reset_moto()
    return sts_server


@pytest.fixture
def world(tmp_path, sts):
    return World(tmp_path, sts)
