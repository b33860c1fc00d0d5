"""Stored sources: IAM users' long-term keys kept in the OS keyring instead of
~/.aws/credentials. `keys` is the entry format and where entries live; `add`, `importing`,
`rotate` and `registry` are the operations behind `xaccount-credproc source ...`.
"""
