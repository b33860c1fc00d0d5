"""Real parts and stand-ins the tests run against, and what they share."""


def unavailable(message: str):
    """A real part the test needs is missing: a failure in CI, where the bootstrap provides
    every real part, and a skip only on a developer machine."""
    import os

    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
