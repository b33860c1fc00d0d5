"""xaccount-credproc: an AWS credential_process helper for cross-account roles."""

__version__ = "0.1.0"
