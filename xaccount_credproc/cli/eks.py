"""`eks kubeconfig`: an EKS cluster reached as a profile's role, merged into the kubeconfig with
a user whose exec runs `eks-token` (eks/kubeconfig.py)."""

NAME = "eks"
SUMMARY = "EKS: a cluster in your kubeconfig whose tokens come from this tool's cache (kubeconfig)"


def add_arguments(parser) -> None:
    from ._common import add_profile_option

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    kubeconfig = actions.add_parser(
        "kubeconfig", help="DescribeCluster as the profile's role, then the cluster, a user "
                           "running eks-token and a context merged into the kubeconfig")
    add_profile_option(kubeconfig)
    kubeconfig.add_argument("--cluster", metavar="NAME", required=True,
                            help="the EKS cluster's name")
    kubeconfig.add_argument("--region", metavar="REGION",
                            help="the cluster's region (default: the profile's, else us-east-1)")
    kubeconfig.add_argument("--alias", metavar="NAME",
                            help="the context's name (default: PROFILE@CLUSTER-ARN)")
    kubeconfig.add_argument("--dry-run", action="store_true",
                            help="print the new kubeconfig, write nothing")


def run(args) -> int:
    from ..eks.kubeconfig import update
    from ..eks.token import valid_cluster_name
    from ..errors import ConfigError
    from ._common import config_path, printable, role_credentials, warn

    if not valid_cluster_name(args.cluster):
        raise ConfigError(f"'{printable(args.cluster)[:120]}' is not an EKS cluster name",
                          "use 1-100 letters, digits, - and _, starting with a letter or digit")
    if args.alias is not None and not args.alias.strip():
        raise ConfigError("--alias is empty", "give the context a name, or leave --alias out")
    profile, credentials = role_credentials(args)
    warnings: list[str] = []
    region = args.region or profile.region or "us-east-1"
    target, merge, context = update(profile, credentials, args.cluster, region, args.alias,
                           config_path(args), args.dry_run, warnings)
    warn(warnings)
    if args.dry_run:
        print(merge.new, end="")
        return 0
    done = [f"replaced {', '.join(merge.replaced)}" if merge.replaced else "",
            f"added {', '.join(merge.added)}" if merge.added else ""]
    said = "; ".join(d for d in done if d) or "up to date, nothing written"
    how = "" if merge.in_place or not merge.changed else \
        " (written out anew: its layout could not be edited in place)"
    print(f"{target}: {said}{how}; current context: {context}")
    return 0
