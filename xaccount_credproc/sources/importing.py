"""`source import`: move a profile's key pair out of ~/.aws/credentials (or ~/.aws/config)
into the OS keyring. The files are edited only after the keys are checked and stored, and then
only the key lines change (backups that still hold the secret go entirely)."""

import os

from ..credentials.stored import keys as sources
from ..errors import UserError
from .add import KEY_OPTIONS, store_and_declare, verified


def import_keys(config_path: str, name: str, region: str | None,
                mfa_serial: str | None, volatile: bool = False) -> tuple[sources.StoredKeys, str,
                                                                         str]:
    """(the stored keys, the credentials file they left, where they went). Raises UserError."""
    from ..config import aws_config_path, aws_credentials_path, awsconfig
    from ..config.stanzas import locked

    places = [(aws_credentials_path(), name),
             (aws_config_path(), "default" if name == "default" else f"profile {name}")]
    with locked(places[0][0], "the AWS credentials file"), locked(places[1][0], "the AWS config"):
        found: dict[str, str] = {}  # option -> value, from whichever file has them (credentials file first)
        texts = {}
        for path, header in places:
            texts[path] = awsconfig.read(path)
            # botocore cannot read a file with a section twice: say which, as init does.
            awsconfig.refuse_duplicates(path, texts[path],
                                        f"'xaccount-credproc source import {name}'")
            for option, value in _key_options(texts[path], header).items():
                found.setdefault(option, value)
        if _has_option(texts, places, "aws_session_token"):
            raise UserError(f"profile '{name}' holds temporary credentials (a session "
                            "token)", "import an IAM user's long-term keys")
        if set(found) != set(KEY_OPTIONS):
            raise UserError(f"profile '{name}' has no access key pair in "
                            f"{places[0][0]} or {places[1][0]}", "check the name, or store keys "
                            f"with 'xaccount-credproc source add {name}'")
        access_key_id, secret = found["aws_access_key_id"], found["aws_secret_access_key"]
        sources.check_format(access_key_id, secret)
        keys = verified(name, access_key_id, secret, region)
        into = store_and_declare(config_path, name, keys, region, mfa_serial,
                                 aws_profile=True, volatile=volatile)
        # Only now, with the keys safe in the keyring: out of every file, backups included.
        for path, header in places:
            for candidate in (path, path + ".bak"):
                _scrub(candidate, header, secret)
    return keys, places[0][0], into


def _key_options(text: str, header: str) -> dict[str, str]:
    from ..config import awsconfig

    lines = awsconfig.split_lines(text)
    out = {}
    for section in awsconfig.sections(lines):
        if section.header != header:
            continue
        for line in lines[section.start + 1:section.end]:
            key, sep, value = line.partition("=")
            if sep and key.strip() in (*KEY_OPTIONS, "aws_session_token"):
                out[key.strip()] = value.strip()
    return out


def _has_option(texts, places, option: str) -> bool:
    return any(option in _key_options(texts[path], header) for path, header in places)


def _scrub(path: str, header: str, secret: str) -> None:
    """Remove exactly the key lines of `header` from `path` (every other byte stays), and a
    file that still holds the secret after that (an old .bak) entirely."""
    from .. import files
    from ..config import awsconfig

    try:
        text = awsconfig.read(path)
    except UserError:
        return
    if not text:
        return
    lines = awsconfig.split_lines(text)
    drop = set()
    for section in awsconfig.sections(lines):
        if section.header != header:
            continue
        for index in range(section.start + 1, section.end):
            key, sep, _ = lines[index].partition("=")
            if sep and key.strip() in (*KEY_OPTIONS, "aws_session_token"):
                drop.add(index)
    if not drop and secret not in text:
        return
    kept = "".join(line for index, line in enumerate(lines) if index not in drop)
    if secret in kept:  # elsewhere in a backup, under another name: the backup goes
        os.unlink(path)
        return
    files.replace_text(path, kept, backup=False)
