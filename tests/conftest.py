import logging

import pytest

from tests.harness.keyring_daemon import SecretServiceDaemon
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


@pytest.fixture(scope="session")
def secret_service_daemon(tmp_path_factory):
    daemon = SecretServiceDaemon(tmp_path_factory.mktemp("secret-service")).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def secret_service(secret_service_daemon):
    """The real Secret Service (gnome-keyring on a private D-Bus), emptied for each test."""
    secret_service_daemon.wipe()
    return secret_service_daemon


@pytest.fixture
def world(tmp_path, sts, secret_service):
    return World(tmp_path, sts, secret_service)
