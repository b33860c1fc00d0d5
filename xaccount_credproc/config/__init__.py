"""The configuration family, and `Profile`: a resolved profile, everything needed to get one
role's credentials, which is all the rest of the package takes from the config.

Where the config files are (`config_path`, `aws_config_path`, `aws_credentials_path`) is here
too; where this tool keeps its own files, and how it writes them, is `files` (not config).
The modules of this family: `loader` (reading the TOML file
and its includes), `rules` (every key's validation), `model` (the loaded config: [defaults]
inheritance, role chains, stored sources), `lines` (FILE:LINE for errors), `snapshot` (resolved
profiles kept beside the cache, so a cache hit never parses TOML), `toml_edit` (`add`/`remove`
edits that keep comments), `awsconfig` (reading and writing ~/.aws/config), `sync` (`init`).
Nothing here calls AWS.

`Profile` lives here, in the package itself, because a cache hit needs it and nothing else of
the family but `snapshot`: one module fewer to import on every `aws` command. Plain
classes, not dataclasses: `dataclasses` pulls in `inspect` (about 12 ms).
"""

import os
import sys

from ..files import APP, absolute_from_env, home

CONFIG_ENV = "XACCOUNT_CREDPROC_CONFIG"
join = os.path.join

DEFAULT_DURATION = 3600
DEFAULT_REFRESH_MARGIN = 1200
DEFAULT_MFA_SESSION_DURATION = 12 * 3600
# Roles assumed one after another (user -> hub -> spoke is 2). AWS sets no number; more than this
# is a configuration mistake, and each hop is another STS call on a cold cache.
MAX_CHAIN = 5
CHAINED_MAX_DURATION = 3600  # AWS's limit for a role session assumed with role credentials

FIELDS = ("name", "role_arn", "source_profile", "region", "external_id", "mfa_serial",
          "mfa_process", "duration_seconds", "role_session_name", "refresh_margin", "cache",
          "mfa_session", "mfa_session_duration", "output", "display_name", "color", "mfa_prompt",
          "keyring_backend", "via", "stored_source", "vault", "source_identity", "tags",
          "transitive_tags", "sso", "browser", "browser_family")
# An IAM Identity Center role profile's `sso`: its session (the TOML's [sso-sessions.NAME]
# settings, or None where the AWS config's [sso-session NAME] is to be read), account and role.
SSO_FIELDS = {"session": (str,), "account_id": (str,), "role_name": (str,),
              "start_url": (str, type(None)), "region": (str, type(None)), "scopes": (list,)}

# The exact type (or types) of each field, for data read back from a file (snapshot.py).
FIELD_TYPES = {
    "name": (str,), "role_arn": (str,), "source_profile": (str,), "region": (str, type(None)),
    "external_id": (str, type(None)), "mfa_serial": (str, type(None)),
    "mfa_process": (str, type(None)), "duration_seconds": (int,), "role_session_name": (str,),
    "refresh_margin": (int,), "cache": (str,), "mfa_session": (bool,),
    "mfa_session_duration": (int,), "output": (str, type(None)),
    "display_name": (str, type(None)), "color": (str, type(None)), "mfa_prompt": (str,),
    "keyring_backend": (str,),
    "via": (dict, type(None)),  # the source's own fields (as_dict), when it is a profile too
    "stored_source": (str, type(None)),
    "vault": (dict, type(None)),  # Config.vault_settings(), for a stored source's keys
    "source_identity": (str, type(None)), "tags": (dict,), "transitive_tags": (list,),
    "sso": (dict, type(None)), "browser": (str, type(None)), "browser_family": (str, type(None)),
}


class Profile:
    """One fully resolved, validated profile (see rules.py and model.py for the rules)."""

    __slots__ = FIELDS

    def __init__(self, name: str, role_arn: str, source_profile: str, region: str | None = None,
                 external_id: str | None = None, mfa_serial: str | None = None,
                 mfa_process: str | None = None, duration_seconds: int = DEFAULT_DURATION,
                 role_session_name: str = "", refresh_margin: int = DEFAULT_REFRESH_MARGIN,
                 cache: str = "keyring", mfa_session: bool = True,
                 mfa_session_duration: int = DEFAULT_MFA_SESSION_DURATION,
                 output: str | None = None, display_name: str | None = None,
                 color: str | None = None, mfa_prompt: str = "auto",
                 keyring_backend: str = "auto", via: "Profile | None" = None,
                 stored_source: str | None = None, vault: dict | None = None,
                 source_identity: str | None = None, tags: dict | None = None,
                 transitive_tags: list | None = None, sso: dict | None = None,
                 browser: str | None = None, browser_family: str | None = None):
        self.name = name
        self.role_arn = role_arn
        self.source_profile = source_profile
        self.region = region
        self.external_id = external_id
        self.mfa_serial = mfa_serial
        self.mfa_process = mfa_process
        self.duration_seconds = duration_seconds
        self.role_session_name = role_session_name
        self.refresh_margin = refresh_margin
        self.cache = cache
        self.mfa_session = mfa_session
        self.mfa_session_duration = mfa_session_duration
        self.output = output
        self.display_name = display_name
        self.color = color
        self.mfa_prompt = mfa_prompt
        self.keyring_backend = keyring_backend
        self.via = via  # source_profile when it is a TOML profile: role chaining
        # source_profile names keys kept in the OS keyring: this is their keyring_backend.
        self.stored_source = stored_source
        self.vault = vault
        # Attribution on AssumeRole: SourceIdentity (CloudTrail's person behind the role) and
        # session tags ({key: value}; those named in transitive_tags pass along a chain).
        self.source_identity = source_identity
        self.tags = {} if tags is None else tags
        self.transitive_tags = [] if transitive_tags is None else transitive_tags
        # An IAM Identity Center role (SSO_FIELDS): its credentials come from the portal, and
        # role_arn is the role's nominal ARN (account and name), for display.
        self.sso = sso
        # Where `console` opens (credentials/browsers.py): a name or a path, and a path's family.
        self.browser = browser
        self.browser_family = browser_family

    def as_dict(self) -> dict:
        out = {name: getattr(self, name) for name in FIELDS}
        out["via"] = self.via.as_dict() if self.via is not None else None
        return out

    @property
    def chain(self) -> list["Profile"]:
        """The roles assumed to reach this one, the first hop first, this profile last."""
        hops, hop = [], self
        while hop is not None:
            hops.append(hop)
            hop = hop.via
        return hops[::-1]

    def carried_tags(self) -> dict:
        """The transitive tags of the hops before this one: AWS passes them on to this one."""
        carried = {}
        for hop in self.chain[:-1]:
            carried.update({k: v for k, v in hop.tags.items() if k in hop.transitive_tags})
        return carried

    def tags_to_send(self) -> tuple[dict, list]:
        """(Tags, TransitiveTagKeys) for this hop's AssumeRole: without what the chain carries
        already (AWS refuses to set a carried tag again)."""
        carried = {key.lower() for key in self.carried_tags()}
        return ({k: v for k, v in self.tags.items() if k.lower() not in carried},
                [k for k in self.transitive_tags if k.lower() not in carried])

    @property
    def root_source(self) -> str:
        """The AWS profile whose own credentials start the chain (keys, SSO, ...)."""
        return self.chain[0].source_profile

    def chain_text(self) -> str:
        return " → ".join([self.root_source, *(hop.name for hop in self.chain)])

    def __eq__(self, other) -> bool:
        return isinstance(other, Profile) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"Profile({self.as_dict()!r})"

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[1]


def from_fields(fields, depth: int = 0) -> "Profile | None":
    """A Profile from as_dict() read back from a file; None unless every field, and every hop
    of its chain, has exactly the expected type."""
    if type(fields) is not dict or set(fields) != set(FIELDS):
        return None
    if any(type(fields[key]) not in FIELD_TYPES[key] for key in FIELDS):
        return None
    if not all(type(k) is str and type(v) is str for k, v in fields["tags"].items()) or \
            not all(type(k) is str for k in fields["transitive_tags"]):
        return None
    sso = fields["sso"]
    if sso is not None and not (set(sso) == set(SSO_FIELDS) and all(
            type(sso[k]) in SSO_FIELDS[k] for k in SSO_FIELDS)
            and all(type(scope) is str for scope in sso["scopes"])):
        return None
    vault = fields["vault"]
    if vault is not None and not (
            set(vault) == {"passphrase_process", "unlock_timeout", "auto_sources"}
            and type(vault["passphrase_process"]) in (str, type(None))
            and type(vault["unlock_timeout"]) is int and type(vault["auto_sources"]) is list
            and all(type(name) is str for name in vault["auto_sources"])):
        return None
    via = None
    if fields["via"] is not None:
        if depth >= MAX_CHAIN:
            return None
        via = from_fields(fields["via"], depth + 1)
        if via is None:
            return None
    return Profile(**{**fields, "via": via})


# -- where the config files are (the TOML config, the AWS CLI's config and credentials) --------


def user_config_dir() -> str:
    if sys.platform == "win32":
        return join(os.environ.get("APPDATA") or join(home(), "AppData", "Roaming"), APP)
    if sys.platform == "darwin":
        return join(home(), "Library", "Application Support", APP)
    return join(os.environ.get("XDG_CONFIG_HOME") or join(home(), ".config"), APP)


def config_path(explicit: str | None = None) -> str:
    """`--config`, else $XACCOUNT_CREDPROC_CONFIG, else the per-OS user config dir."""
    if explicit:
        return os.path.expanduser(explicit)
    from_env = absolute_from_env(CONFIG_ENV)
    if from_env:
        return from_env
    return join(user_config_dir(), "config.toml")


def aws_config_path() -> str:
    """The AWS CLI's config file, as botocore finds it."""
    return os.path.expanduser(os.environ.get("AWS_CONFIG_FILE") or join(home(), ".aws", "config"))


def aws_credentials_path() -> str:
    return os.path.expanduser(os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
                              or join(home(), ".aws", "credentials"))
