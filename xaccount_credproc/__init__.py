"""xaccount-credproc: an AWS credential_process helper for cross-account roles.

What every module of the cache-hit path shares and nothing else would give it without
importing `os` (2 ms, which `python -S` does not load): the environment (`environ`), and the
partitions of AWS (region prefixes and DNS suffixes, botocore's partitions.json).
"""

import sys

__version__ = "0.1.0"

# Each partition's region prefix and DNS suffix (botocore's partitions.json: its regionRegex and
# dnsSuffix), for the partition of an account_id + role_name profile and the regional STS
# endpoint an EKS token is signed for. A region no prefix names is in "aws".
PARTITIONS = (("cn-", "aws-cn", "amazonaws.com.cn"), ("us-gov-", "aws-us-gov", "amazonaws.com"),
              ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"), ("us-iso-", "aws-iso", "c2s.ic.gov"),
              ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
              ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"), ("eusc-", "aws-eusc", "amazonaws.eu"))


def partition_of_region(region: str | None) -> str:
    return _partition(region)[1]


def dns_suffix(region: str | None) -> str:
    return _partition(region)[2]


def _partition(region: str | None) -> tuple[str, str, str]:
    for row in PARTITIONS:
        if region and region.startswith(row[0]):
            return row
    return ("", "aws", "amazonaws.com")


def environ(name: str) -> str | None:
    """The environment variable `name`: from os.environ once `os` is loaded (it sees changes
    made since), else from the interpreter's own copy, without loading it."""
    if "os" in sys.modules or "posix" not in sys.builtin_module_names:
        import os

        return os.environ.get(name)
    import posix

    value = posix.environ.get(name.encode())
    return None if value is None else value.decode("utf-8", "surrogateescape")
