"""The EKS family: kubectl's credentials from this tool's cache, and the kubeconfig that asks
for them.

`sigv4` (a presigned URL, botocore's byte for byte, without botocore), `token` (the EKS token,
`k8s-aws-v1.` and the presigned GetCallerIdentity, in an ExecCredential: on the token's hit
path, which imports nothing more than a credential_process hit does, but these two), `cluster`
(DescribeCluster as the profile's role), `kubeconfig` (the cluster, its user and context
merged into a kubeconfig, everything else kept byte for byte).
"""
