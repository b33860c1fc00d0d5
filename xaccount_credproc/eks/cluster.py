"""An EKS cluster as the profile's role sees it: DescribeCluster signed with the role's
credentials (from the cache, or fetched as `credential-process` fetches them), its errors in
words."""

from ..config import Profile
from ..errors import AwsError, ConfigError


class Cluster:
    """What a kubeconfig needs of a cluster."""

    def __init__(self, name: str, arn: str, endpoint: str, certificate: str, region: str):
        self.name, self.arn, self.endpoint = name, arn, endpoint
        self.certificate, self.region = certificate, region


def describe(profile: Profile, credentials, name: str, region: str,
             warnings: list[str]) -> Cluster:
    from ..credentials.source_session import SourceSession

    session = SourceSession(profile.root_source, region, profile.name, warnings, anonymous=True)
    client = session.service_client("eks", region, credentials)
    who = f"profile '{profile.name}' ({profile.role_arn})"
    try:
        answer = session.call_api("DescribeCluster", lambda: client.describe_cluster(name=name))
    except AwsError as e:
        if e.aws_code == "ResourceNotFoundException":
            raise ConfigError(f"there is no EKS cluster '{name}' in {region} of account "
                              f"{profile.account_id} (as {who})",
                              "check the name and --region ('aws eks list-clusters')") from None
        if e.aws_code in ("AccessDeniedException", "AccessDenied", "UnauthorizedException"):
            raise AwsError(f"{who} may not describe EKS cluster '{name}' ({e.aws_code})",
                           "allow eks:DescribeCluster on the cluster to that role, or use a "
                           "profile whose role may", aws_code=e.aws_code) from None
        raise
    found = answer.get("cluster") if isinstance(answer, dict) else None
    cluster: dict = found if isinstance(found, dict) else {}
    endpoint = cluster.get("endpoint")
    certificate = (cluster.get("certificateAuthority") or {}).get("data")
    if not endpoint or not certificate or not cluster.get("arn"):
        raise AwsError(f"EKS cluster '{name}' has no API endpoint or certificate yet (status "
                       f"{cluster.get('status', 'unknown')})",
                       "wait until it is ACTIVE, then run this again")
    return Cluster(name, cluster["arn"], endpoint, certificate, region)
