"""Stored sources with AWS: the operations behind `xaccount-credproc source ...` that talk to
STS and IAM or edit the config files: `add` (keys checked with AWS), `importing` (out of
~/.aws/credentials), `rotate` (a new IAM key), `registry` (remove, list). The keys themselves,
where they are kept and the vault's unlocking have one owner: credentials/stored/.
"""
