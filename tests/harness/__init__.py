"""Real parts and stand-ins the tests run against, and what they share."""


def unavailable(message: str):
    """A real part the test needs is missing: a failure in CI, where the bootstrap provides
    every real part, and a skip only on a developer machine."""
    import os

    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def required(path, what: str) -> None:
    """A real client that is missing fails in CI (the bootstrap installs it) and skips only on a
    developer machine without it."""
    if not path.exists():
        unavailable(f"{what} is not installed ({path}): run scripts/bootstrap.sh")
