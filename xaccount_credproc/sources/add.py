"""`source add`: an IAM user's key pair, read from the terminal or stdin (never argv), checked
with GetCallerIdentity, then declared in the TOML config and stored in the OS keyring."""

import contextlib
import os
import sys

from ..credentials.stored import keys as sources
from ..credentials.stored.stores import source_store
from ..errors import UserError

STDIN_TIMEOUT = 60


def add(config_path: str, name: str, region: str | None, mfa_serial: str | None,
        aws_profile: bool | None, volatile: bool = False) -> tuple[sources.StoredKeys, str]:
    """Read, check and store a key pair as source `name`: (the keys, where they went). Raises
    UserError."""
    access_key_id, secret = read_keys()
    sources.check_format(access_key_id, secret)
    keys = verified(name, access_key_id, secret, region)
    return keys, store_and_declare(config_path, name, keys, region, mfa_serial, aws_profile,
                                   volatile)


def read_keys() -> tuple[str, str]:
    """(access key ID, secret): on the terminal, or two lines from stdin. Never argv."""
    if sys.stdin is None:  # closed (`<&-`), not merely empty
        raise UserError("stdin is closed, so there are no keys to read",
                        "pipe two lines to stdin (the access key ID, then the secret), or run "
                        "it in a terminal")
    if sys.stdin.isatty():
        # The terminal, as the MFA prompt reads it: bounded, echo restored whatever ends it.
        from ..errors import MfaError
        from ..prompt.terminal import Signalled, open_terminal, prompt_timeout, read_line

        timeout = prompt_timeout()
        fd = open_terminal("/dev/tty")
        if fd is None:
            raise UserError("stdin is a terminal, but it cannot be opened to ask on",
                            "pipe two lines to stdin: the access key ID, then the secret")
        try:
            with open(fd, "r+b", buffering=0) as tty:
                access_key_id = read_line(tty, "Access key ID: ", timeout, hidden=False,
                                          what="access key ID")
                secret = read_line(tty, "Secret access key (not shown): ", timeout,
                                   what="secret access key")
        except Signalled:
            raise  # exit 128 + the signal, the terminal restored
        except MfaError as e:
            raise UserError(e.what, e.fix) from None
        return access_key_id, secret
    from ..prompt.terminal import read_stdin

    data, timed_out = read_stdin(2, STDIN_TIMEOUT, 16384)
    if timed_out:
        raise UserError(f"no keys on stdin within {STDIN_TIMEOUT}s",
                        "pipe two lines: the access key ID, then the secret access key")
    lines = data.decode("utf-8", "replace").splitlines()
    if len(lines) < 2:
        raise UserError("stdin must hold two lines: the access key ID, then the secret access "
                        "key", "e.g. printf '%s\\n%s\\n' \"$ID\" \"$SECRET\" | "
                               "xaccount-credproc source add NAME")
    return lines[0].strip(), lines[1].strip()


def verified(name: str, access_key_id: str, secret: str, region: str | None):
    """StoredKeys for a key pair that AWS accepts as an IAM user's (GetCallerIdentity)."""
    from ..credentials.source_session import SourceSession

    probe = sources.StoredKeys(access_key_id, secret, "")
    sts = SourceSession(name, region, name, keys=probe)
    arn = sts.caller_identity()
    if ":user/" not in arn:
        raise UserError(f"these keys belong to {arn}, not an IAM user",
                        "store an IAM user's long-term keys")
    return sources.StoredKeys(access_key_id, secret, arn, _created(sts, arn, access_key_id))


def _created(sts, arn: str, access_key_id: str) -> float | None:
    """When IAM made the key (`list` shows its age), if the user may list its own keys; else
    None (now)."""
    try:
        listed = sts.call_api("ListAccessKeys", lambda: sts.iam().list_access_keys(
            UserName=arn.rsplit("/", 1)[-1]))["AccessKeyMetadata"]
    except UserError:
        return None
    for key in listed:
        if key.get("AccessKeyId") == access_key_id and key.get("CreateDate"):
            return key["CreateDate"].timestamp()
    return None


# The keys that move into the keyring: a section holding only these (and settings) is adoptable.
KEY_OPTIONS = ("aws_access_key_id", "aws_secret_access_key")


def aws_profile_settings(name: str) -> dict[str, str]:
    """region and output of the user's hand-written [profile NAME] in ~/.aws/config (what `aws
    configure` writes), when it gets no credentials but the keys being stored: `init` takes that
    section over, and writes these from the TOML. {} otherwise."""
    from ..config import aws_config_path, awsconfig, rules

    try:
        text = awsconfig.read(aws_config_path())
    except UserError:
        return {}
    header = "default" if name == "default" else f"profile {name}"
    lines = awsconfig.split_lines(text)
    found = {}
    for section in awsconfig.sections(lines):
        if section.header != header:
            continue
        if set(awsconfig.credential_settings(lines, section)) - set(KEY_OPTIONS):
            return {}
        for line in lines[section.start + 1:section.end]:
            key, sep, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if sep and key in ("region", "output") and not line[:1].isspace():
                # A value the TOML does not take is left out of init's stanza.
                with contextlib.suppress(UserError):
                    found[key] = rules.VALIDATORS[key](value)
    return found


def store_and_declare(config_path: str, name: str, keys, region: str | None,
                      mfa_serial: str | None, aws_profile: bool | None,
                      volatile: bool = False) -> str:
    """Store the keys, then declare [sources.NAME]; where the keys went (for messages)."""
    from ..backends import StoreError, forgets_at_reboot
    from ..config import loader, model, rules, toml_edit
    from ..errors import ConfigError

    values = {"region": region, "mfa_serial": mfa_serial, "aws_profile": aws_profile,
              "keyring_backend": "kernel" if volatile else None}
    if aws_profile:
        # The user's [profile NAME] settings go where init writes them from.
        for key, value in aws_profile_settings(name).items():
            values[key] = values.get(key) or value
    # The declaration is checked first and written last, once the keys are safely stored: a
    # keyring that refuses them leaves no [sources.NAME] behind, and a TOML that cannot take the
    # declaration leaves the keyring as it was.
    rules.check_profile_name(name, "source name")
    loaded = loader.load(config_path) if os.path.exists(config_path) else None
    if loaded is not None and name in loaded.profiles:
        raise ConfigError(f"'{name}' is a profile in {config_path}, so it cannot also name a "
                          "stored source", "choose another name for the source")
    own = {**(loaded.sources.get(name, {}) if loaded else {}),
           **{k: v for k, v in values.items() if v is not None}}
    source = model.stored_source(name, loaded.defaults if loaded else {}, own)
    if forgets_at_reboot(source.keyring_backend) and not volatile:
        # Long-term keys there are gone at the next reboot: only when the user says so.
        raise ConfigError(f"source '{name}' would be kept in the kernel keyring (keyring_backend "
                          '= "kernel"), which forgets it at reboot', "pass --volatile to accept "
                          'that, or set keyring_backend = "vault" (or "auto") for the source')
    store = source_store(source, loaded.vault_settings() if loaded else None)
    try:
        before = sources.read(store, name)
        sources.write(store, name, keys)
    except StoreError as e:
        raise sources.store_error(e, "cannot store the keys") from None
    try:
        toml_edit.set_source(config_path, name, values)
    except BaseException:
        with contextlib.suppress(StoreError):  # back to what the keyring held before
            if before is None:
                sources.delete(store, name)
            else:
                sources.write(store, name, before)
        raise
    return store.where()
