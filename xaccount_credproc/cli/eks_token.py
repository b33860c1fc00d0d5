"""`eks-token --profile NAME --cluster NAME [--region R]`: what kubectl's exec plugin runs on
every command, an ExecCredential from this tool's own cache (eks/token.py). Read without
argparse, as credential-process is: a warm token is a cache hit and one signature."""

import sys

from ._common import Args, role_credentials

NAME = "eks-token"
SUMMARY = ("an EKS token for kubectl (its exec plugin), signed with a profile's cached role "
           "credentials")
OPTIONS = ("--config", "--profile", "--cluster", "--region")


def add_arguments(parser) -> None:
    from ._names import profile_names

    parser.add_argument("--profile", metavar="NAME", required=True,
                        help="profile name in the TOML config").completer = profile_names
    parser.add_argument("--cluster", metavar="NAME", required=True,
                        help="the EKS cluster's name (x-k8s-aws-id)")
    parser.add_argument("--region", metavar="REGION",
                        help="of the STS endpoint that signs (default: the profile's, else "
                             "us-east-1); `eks kubeconfig` writes the cluster's")


def run(args) -> int:
    from ..eks.token import exec_credential, token, valid_cluster_name
    from ..errors import ConfigError

    if not valid_cluster_name(args.cluster):
        from ._common import printable

        raise ConfigError(f"'{printable(args.cluster)[:120]}' is not an EKS cluster name",
                          "use 1-100 letters, digits, - and _, starting with a letter or digit")
    profile, credentials = role_credentials(args)
    region = args.region or profile.region or "us-east-1"
    value, expires = token(credentials, args.cluster, region)
    sys.stdout.write(exec_credential(value, expires) + "\n")
    sys.stdout.flush()
    return 0


def parse_exactly(argv: list[str]):
    """The arguments of `[--config PATH] [--debug] eks-token --profile NAME --cluster NAME
    [--region R]` without argparse, or None for anything else (argparse explains it)."""
    from ._fast import exact

    values = exact(argv, (NAME,), OPTIONS[1:])
    if values is None or not values["profile"] or not values["cluster"]:
        return None
    return Args(**values, source=None)
