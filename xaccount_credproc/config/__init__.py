"""The configuration family, and its one table of settings: every key the TOML config takes,
declared once, as a field of the record it fills (`Profile`, `Console`, `IdentityCenter`,
`StoredSourceSettings`, `LoginSettings`, `VaultSettings`, `SsoSessionSettings`) with its type,
its default, the rule that checks it (`check`, a rule of rules.py by name) and what `list` and
`doctor` call it (`label`). The loader, the rules, the snapshot's type checks and the records'
constructors are all made from it; keys that only build a field (`account_id` and `role_name`
build `role_arn`) are `inputs` of their record.

`Profile` is a resolved profile, everything needed to get one role's credentials, which is all
the rest of the package takes from the config; what `console` shows and opens is apart, in its
`console` (`Console`).

Where the config files are (`config_path`, `aws_config_path`, `aws_credentials_path`) is here
too; where this tool keeps its own files, and how it writes them, is `files` (not config).
The modules of this family: `loader` (reading the TOML file and its includes), `rules` (every
rule a value must meet), `model` (the loaded config: [defaults] inheritance, role chains,
stored sources), `lines` (FILE:LINE for errors), `snapshot` (resolved profiles kept beside the
cache, so a cache hit never parses TOML), `toml_edit` (`add`/`remove` edits that keep
comments), `awsconfig` (reading and writing ~/.aws/config), `stanzas` (`init`: the AWS
config's stanzas for the TOML's profiles). Nothing here calls AWS.

The table lives here, in the package itself, because a cache hit needs `Profile` and nothing
else of the family but `snapshot`: one module fewer to import on every `aws` command. The
records are plain classes with slots made by `record`, not dataclasses: `dataclasses` pulls in
`inspect` (about 12 ms); mypy sees them as dataclasses (`dataclass_transform`).
"""

import os
import sys

from ..files import APP, absolute_from_env, home

TYPING = False  # True for mypy (pyproject.toml)
if TYPING:
    from typing import Any, dataclass_transform
else:
    def dataclass_transform(**_):
        return lambda function: function

CONFIG_ENV = "XACCOUNT_CREDPROC_CONFIG"
join = os.path.join

DEFAULT_DURATION = 3600
DEFAULT_REFRESH_MARGIN = 1200
DEFAULT_MFA_SESSION_DURATION = 12 * 3600
DEFAULT_UNLOCK_TIMEOUT = 12 * 3600
# Roles assumed one after another (user -> hub -> spoke is 2). AWS sets no number; more than this
# is a configuration mistake, and each hop is another STS call on a cold cache.
MAX_CHAIN = 5
CHAINED_MAX_DURATION = 3600  # AWS's limit for a role session assumed with role credentials
MAX_DURATION = 43200
STS_MIN_DURATION = 900
MIN_REFRESH_MARGIN = 960  # botocore refreshes at 15 minutes left; serve more than that
CACHE_MODES = ("keyring", "none")
MFA_PROMPTS = ("auto", "terminal", "dialog")
KEYRING_BACKENDS = ("auto", "secret-service", "kernel", "vault")  # "vault": sources only
OUTPUTS = ("json", "text", "table", "yaml", "yaml-stream")
BROWSER_FAMILIES = ("chromium", "firefox")
LOGIN_STORAGES = ("file", "keyring")
LOGIN_KEYRINGS = ("auto", "secret-service", "kernel")


from .. import PARTITIONS, dns_suffix, partition_of_region  # noqa: E402, F401 - shared with eks/

# -- the table of settings -----------------------------------------------------------------------


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


class Setting:
    """One row of the table: a field of a record and, unless it is `derived` (worked out while
    loading, never written in the TOML), the TOML key that sets it.

    `check`: the rule of rules.py that checks a value, by name, with `args`. `clearable`: an
    empty string clears what [defaults] set. `assume_role`: a setting of AssumeRole, which an
    IAM Identity Center role does not take. `inherited`: a stored source takes it from
    [defaults] too. `label`: what `list` and `doctor` call it. `stored_as`: the types a snapshot
    holds for it, where they are not the field's own."""

    __slots__ = ("name", "types", "default", "factory", "check", "args", "clearable",
                 "assume_role", "inherited", "label", "derived", "group", "record")

    def __init__(self, default=REQUIRED, factory=None, check: str | None = None,
                 args: tuple = (), clearable: bool = False, assume_role: bool = False,
                 inherited: bool = False, label: str | None = None, derived: bool = False,
                 group: bool = False):
        self.name = ""  # set by `record`
        self.types: tuple = ()  # set by `record`: the exact types a value may have
        self.record = None  # set by `record`: the record class of a nested record's value
        self.default, self.factory, self.check, self.args = default, factory, check, args
        self.clearable, self.assume_role, self.inherited = clearable, assume_role, inherited
        self.label, self.derived, self.group = label, derived, group

    def initial(self):
        if self.factory is not None:
            return self.factory()
        return self.default

    def __repr__(self) -> str:
        return f"Setting({self.name})"


def setting(*, default=REQUIRED, default_factory=None, check: str | None = None,
            args: tuple = (), clearable: bool = False, assume_role: bool = False,
            inherited: bool = False, label: str | None = None) -> "Any":
    """A field that a TOML key sets."""
    return Setting(default, default_factory, check, args, clearable, assume_role, inherited,
                   label)


def derived(*, default=REQUIRED, default_factory=None) -> "Any":
    """A field worked out while loading (the profile's name, the role before it in a chain)."""
    return Setting(default, default_factory, derived=True)


def group(*, default_factory) -> "Any":
    """A nested record whose settings are keys of this record's own table (a profile's
    console settings are keys of [profiles.NAME])."""
    return Setting(factory=default_factory, derived=True, group=True)


def _types(annotation, owner: str) -> tuple:
    """The exact types a value of `annotation` may have (a record's fields hold no others); a
    forward reference to the record being made (`owner`) is written "owner"."""
    if isinstance(annotation, str):
        return tuple(owner if name == owner else {"None": type(None)}[name]
                     for name in (part.strip() for part in annotation.split("|")))
    args = getattr(annotation, "__args__", None)
    if type(annotation).__name__ == "UnionType" and args:
        return tuple(t for a in args for t in _types(a, owner))
    origin = getattr(annotation, "__origin__", None)
    return (origin,) if origin is not None else (annotation,)


@dataclass_transform(kw_only_default=True, field_specifiers=(setting, derived, group))
def record(cls):
    """`cls` made a record: slots, a keyword `__init__` with the declared defaults, `as_dict`,
    equality and a repr; `cls.SETTINGS` its table (name -> Setting), `cls.INPUTS` the keys that
    only build one of its fields."""
    settings: dict[str, Setting] = {}
    namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        row = namespace.pop(name, None)
        if not isinstance(row, Setting):
            row = Setting(default=row if row is not None else REQUIRED)
        row.name = name
        row.types = _types(annotation, cls.__name__)
        settings[name] = row
    inputs = namespace.get("INPUTS", {})
    for name, row in inputs.items():
        row.name = name
    namespace.update(__slots__=tuple(settings), SETTINGS=settings, INPUTS=inputs)
    made = type(cls.__name__, cls.__bases__, namespace)
    for row in settings.values():
        row.types = tuple(made if kind == cls.__name__ else kind for kind in row.types)
        row.record = next((kind for kind in row.types if hasattr(kind, "SETTINGS")), None)
    return made


class Record:
    """What every record has; `record` gives each its slots and settings."""

    __slots__ = ()
    SETTINGS: "dict[str, Setting]" = {}
    INPUTS: "dict[str, Setting]" = {}

    def __init__(self, **values) -> None:
        for name, row in self.SETTINGS.items():
            if name in values:
                value = values.pop(name)
            elif row.default is REQUIRED and row.factory is None:
                raise TypeError(f"{type(self).__name__}: {name} is required")
            else:
                value = row.initial()
            setattr(self, name, value)
        if values:
            raise TypeError(f"{type(self).__name__}: unknown {', '.join(sorted(values))}")

    def as_dict(self) -> dict:
        return {name: _plain(getattr(self, name)) for name in self.SETTINGS}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.as_dict()!r})"


def _plain(value):
    return value.as_dict() if isinstance(value, Record) else value


def keys(record_class) -> dict[str, Setting]:
    """The TOML keys of a record's table: its settings but the derived ones, a nested record's
    settings as keys of this table, and its inputs."""
    out = {}
    for name, row in record_class.SETTINGS.items():
        if row.group:
            out.update(keys(row.record))
        elif not row.derived:
            out[name] = row
    out.update(record_class.INPUTS)
    return out


# -- the records ----------------------------------------------------------------------------------


@record
class Console(Record):
    """What `console` and `switch-role-url` show and open; nothing here changes credentials."""

    display_name: str | None = setting(default=None, check="display_name",
                                       label="display name")
    color: str | None = setting(default=None, check="color", label="colour")
    # Where `console` opens (console/browsers.py): a name or a path, and a path's family.
    browser: str | None = setting(default=None, check="browser", label="browser")
    browser_family: str | None = setting(default=None, check="choice", args=BROWSER_FAMILIES,
                                         label="browser family")


@record
class IdentityCenter(Record):
    """An IAM Identity Center role as a profile: its session (the TOML's [sso-sessions.NAME]
    settings, or None where the AWS config's [sso-session NAME] is to be read), account and
    role."""

    session: str = derived()
    account_id: str = derived()
    role_name: str = derived()
    start_url: str | None = derived(default=None)
    region: str | None = derived(default=None)
    scopes: list[str] = derived(default_factory=list)


@record
class VaultSettings(Record):
    """[vault]: the encrypted file that keeps stored sources where no desktop keyring answers."""

    passphrase_process: str | None = setting(default=None, check="command",
                                             args=("the passphrase",), label="passphrase")
    unlock_timeout: int = setting(default=DEFAULT_UNLOCK_TIMEOUT, check="seconds",
                                  args=(60, 7 * 24 * 3600), label="unlocked for")
    # The sources that may move into the vault from the kernel keyring on its unlock.
    auto_sources: list[str] = derived(default_factory=list)


@record
class SsoSessionSettings(Record):
    """[sso-sessions.NAME]: an IAM Identity Center session, as [sso-session NAME] of the AWS
    config."""

    sso_start_url: str = setting(check="sso_start_url", label="start URL")
    sso_region: str = setting(check="region", label="region")
    sso_registration_scopes: list[str] = setting(default_factory=list, check="sso_scopes",
                                                 label="scopes")


@record
class LoginSettings(Record):
    """[logins.NAME]: an AWS Sign-In login (console credentials, `xaccount-credproc login
    --profile NAME`) as a source: where its token is kept, and the region of AWS Sign-In. A
    source_profile naming an AWS profile with `login_session` is such a login without a table,
    kept as the AWS CLI keeps it."""

    name: str = derived()
    # "file": where the AWS CLI and botocore keep it; "keyring": the OS keyring alone.
    storage: str = setting(default="file", check="choice", args=LOGIN_STORAGES, label="kept in")
    region: str | None = setting(default=None, check="region", inherited=True, label="region")
    keyring_backend: str = setting(default="auto", check="choice", args=LOGIN_KEYRINGS,
                                   label="keyring")


@record
class Profile(Record):
    """One fully resolved, validated profile (see rules.py and model.py for the rules)."""

    name: str = derived()
    role_arn: str = setting(check="role_arn", assume_role=True, label="role")
    source_profile: str = setting(default="default", check="profile_name", assume_role=True,
                                  label="source")
    region: str | None = setting(default=None, check="region", inherited=True, label="region")
    external_id: str | None = setting(default=None, check="external_id", clearable=True,
                                      assume_role=True, label="ExternalId")
    mfa_serial: str | None = setting(default=None, check="mfa_serial", clearable=True,
                                     assume_role=True, inherited=True, label="MFA device")
    mfa_process: str | None = setting(default=None, check="command", args=("the code",),
                                      clearable=True, assume_role=True, inherited=True,
                                      label="MFA program")
    duration_seconds: int = setting(default=DEFAULT_DURATION, check="seconds",
                                    args=(STS_MIN_DURATION, MAX_DURATION), assume_role=True,
                                    label="duration")
    role_session_name: str = setting(default="", check="session_name", assume_role=True,
                                     label="session name")
    refresh_margin: int = setting(default=DEFAULT_REFRESH_MARGIN, check="seconds",
                                  args=(MIN_REFRESH_MARGIN, MAX_DURATION), label="refresh margin")
    cache: str = setting(default="keyring", check="choice", args=CACHE_MODES, label="cache")
    mfa_session: bool = setting(default=True, check="boolean", assume_role=True,
                                label="MFA session")
    mfa_session_duration: int = setting(default=DEFAULT_MFA_SESSION_DURATION, check="seconds",
                                        args=(STS_MIN_DURATION, 129600), assume_role=True,
                                        inherited=True, label="MFA session duration")
    output: str | None = setting(default=None, check="choice", args=OUTPUTS, label="output")
    mfa_prompt: str = setting(default="auto", check="choice", args=MFA_PROMPTS, inherited=True,
                              label="MFA prompt")
    keyring_backend: str = setting(default="auto", check="choice", args=KEYRING_BACKENDS,
                                   inherited=True, label="keyring")
    # Attribution on AssumeRole: SourceIdentity (CloudTrail's person behind the role) and
    # session tags ({key: value}; those named in transitive_tags pass along a chain).
    source_identity: str | None = setting(default=None, check="source_identity",
                                          clearable=True, assume_role=True,
                                          label="source identity")
    tags: dict[str, str] = setting(default_factory=dict, check="tags", assume_role=True,
                                   label="tags")
    transitive_tags: list[str] = setting(default_factory=list, check="transitive_tags",
                                         assume_role=True, label="transitive tags")
    console: Console = group(default_factory=Console)
    # source_profile when it is a TOML profile: role chaining.
    via: "Profile | None" = derived(default=None)
    # source_profile names keys this tool keeps: their keyring_backend, and the vault's settings.
    stored_source: str | None = derived(default=None)
    vault: VaultSettings | None = derived(default=None)
    # source_profile names a login of the TOML ([logins.NAME]): its settings.
    login: LoginSettings | None = derived(default=None)
    # An IAM Identity Center role: its credentials come from the portal, and role_arn is the
    # role's nominal ARN (account and name), for display.
    sso: IdentityCenter | None = derived(default=None)

    # Keys that only build a field: role_arn from account_id and role_name; `sso` from the
    # three sso_ keys; sso_synced marks a profile `sso sync` wrote (what --prune may remove).
    INPUTS = {
        "account_id": Setting(check="account_id", assume_role=True),
        "role_name": Setting(check="role_name", assume_role=True),
        "sso_session": Setting(check="profile_name"),
        "sso_account_id": Setting(check="account_id"),
        "sso_role_name": Setting(check="sso_role_name"),
        "sso_synced": Setting(check="boolean"),
    }

    @property
    def chain(self) -> list["Profile"]:
        """The roles assumed to reach this one, the first hop first, this profile last."""
        hops: list[Profile] = []
        hop: Profile | None = self
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

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[1]


@record
class StoredSourceSettings(Record):
    """[sources.NAME]: an IAM user whose long-term keys this tool keeps (`source add`). The
    `inherited` settings come from [defaults] as profiles get them: the same device then yields
    one MFA session for the user itself and every role behind it."""

    name: str = derived()
    mfa_serial: str | None = setting(default=None, check="mfa_serial", clearable=True,
                                     inherited=True, label="MFA device")
    mfa_process: str | None = setting(default=None, check="command", args=("the code",),
                                      clearable=True, inherited=True, label="MFA program")
    mfa_prompt: str = setting(default="auto", check="choice", args=MFA_PROMPTS, inherited=True,
                              label="MFA prompt")
    region: str | None = setting(default=None, check="region", inherited=True, label="region")
    output: str | None = setting(default=None, check="choice", args=OUTPUTS, label="output")
    # Whether [profile NAME] of the AWS config serves the user itself (init writes it).
    aws_profile: bool = setting(default=False, check="boolean", label="AWS profile")
    mfa_session_duration: int = setting(default=DEFAULT_MFA_SESSION_DURATION, check="seconds",
                                        args=(STS_MIN_DURATION, 129600), inherited=True,
                                        label="MFA session duration")
    keyring_backend: str = setting(default="auto", check="choice", args=KEYRING_BACKENDS,
                                   inherited=True, label="keyring")


def _exactly(value, types: tuple) -> bool:
    """Whether `value` is of one of `types` exactly; a table or a list holds only strings."""
    if type(value) not in types:
        return False
    if type(value) is dict:
        return all(type(k) is str and type(v) is str for k, v in value.items())
    if type(value) is list:
        return all(type(item) is str for item in value)
    return True


def from_fields(fields, kind=Profile, depth: int = 0):
    """A `kind` record from as_dict() read back from a file; None unless every field (every
    nested record, every hop of a chain) has exactly the expected type."""
    settings = kind.SETTINGS
    if type(fields) is not dict or set(fields) != set(settings):
        return None
    values = {}
    for name, row in settings.items():
        value = fields[name]
        if value is None:
            if type(None) not in row.types:
                return None
        elif row.record is not None:
            if row.record is kind and depth >= MAX_CHAIN:  # a chain longer than any allowed
                return None
            value = from_fields(value, row.record, depth + (row.record is kind))
            if value is None:
                return None
        elif not _exactly(value, row.types):
            return None
        values[name] = value
    return kind(**values)


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
