"""The environment for `exec`: a profile's credentials as the variables every SDK reads first."""

import shlex

from ..reentry import REENTRY_ENV
from . import Credentials

# Would override or contradict the credentials we set (the SDKs' env provider reads the keys; a
# profile variable would make some tools look elsewhere).
CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
           "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
           "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "XACCOUNT_CREDPROC_VAULT_PASSPHRASE",
           REENTRY_ENV)


def variables(credentials: Credentials, region: str | None) -> dict[str, str]:
    out = {"AWS_ACCESS_KEY_ID": credentials.access_key_id,
           "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
           "AWS_CREDENTIAL_EXPIRATION": credentials.expiration_rfc3339()}
    if credentials.session_token:
        out["AWS_SESSION_TOKEN"] = credentials.session_token
    if region:
        out["AWS_REGION"] = region
        out["AWS_DEFAULT_REGION"] = region
    return out


def child_environment(base: dict[str, str], credentials: Credentials,
                      region: str | None) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in CLEARED}
    env.update(variables(credentials, region))
    return env


def shell_exports(credentials: Credentials, region: str | None) -> str:
    """`unset` and `export` lines for `eval "$(xaccount-credproc exec --env ...)"`."""
    values = variables(credentials, region)
    lines = [f"unset {name}" for name in CLEARED if name not in values]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"
