"""Stored sources: IAM users' long-term keys kept in the OS keyring instead of
~/.aws/credentials. The operations behind `xaccount-credproc source ...`: `add`, `importing`,
`rotate`, `registry` (remove, list). What a stored key pair is and where its entry lives is
credentials/stored_keys.py, which the provider reads on a miss.
"""
