"""Profile discovery: TOML profiles written for what an AWS service says you can reach, so
that nobody types a hundred account IDs.

* `organizations`: one profile per ACTIVE account of the AWS Organization, for a role you name
  (`init --from-organization`).
* `identity_center`: one profile per account and role IAM Identity Center assigns you, kept in
  step with the assignments (`sso sync`).
* `naming`: the one way both name a profile: a template, made a valid profile name, unique.

What is written goes through `config/` (the TOML edited without losing comments, then the AWS
config's stanzas); the calls to AWS go through `credentials/` (a source profile's session, an
Identity Center login).
"""
