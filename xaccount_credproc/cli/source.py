"""`source add|import|rotate|remove|list`: an IAM user's long-term keys in the OS keyring.

Keys are asked for on the terminal (the secret without echo) or read from stdin, never taken from
the command line; they are checked with GetCallerIdentity before anything is stored. See
sources.py for where they live and how `rotate` survives a kill at any step.
"""

import os
import sys
import time

from ..errors import ConfigError, UserError
from ._common import UsageError, config_path

NAME = "source"
SUMMARY = "keep an IAM user's long-term keys in the OS keyring: add, import, rotate, remove, list"
STDIN_TIMEOUT = 60
ACCEPT_TIMEOUT = 20  # seconds a new IAM key may take to be accepted everywhere
PAUSE_ENV = "XACCOUNT_CREDPROC_TEST_PAUSE_AT"  # the tests' SIGKILL points in `rotate`


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="store an IAM user's keys (asked for, or read from "
                                         "stdin: two lines)")
    imported = actions.add_parser("import", help="move a profile's keys out of "
                                                 "~/.aws/credentials into the OS keyring")
    for sub in (add, imported):
        sub.add_argument("name", metavar="NAME", help="the source's name (source_profile)")
        sub.add_argument("--region", metavar="REGION", help="region of the STS endpoint")
        sub.add_argument("--mfa-serial", metavar="ARN", help="the user's MFA device")
    add.add_argument("--aws-profile", action="store_true",
                     help="let 'init' write [profile NAME] served by the helper")
    rotate = actions.add_parser("rotate", help="replace the stored key with a new one (IAM)")
    rotate.add_argument("name", metavar="NAME")
    remove = actions.add_parser("remove", help="forget a stored source and its keys")
    remove.add_argument("name", metavar="NAME")
    actions.add_parser("list", help="stored sources: key (last 4), IAM user, age; no secrets")


def run(args) -> int:
    return {"add": _add, "import": _import, "rotate": _rotate, "remove": _remove,
            "list": _list}[args.action](args)


# -- add ------------------------------------------------------------------------------------------


def _add(args) -> int:
    from .. import sources

    access_key_id, secret = _read_keys()
    sources.check_format(access_key_id, secret)
    keys = _verified(args.name, access_key_id, secret, args.region)
    _store_and_declare(args, keys, aws_profile=args.aws_profile or None)
    print(f"stored the key {sources.mask(keys.access_key_id)} of {keys.user_arn} as source "
          f"'{args.name}'")
    return 0


def _read_keys() -> tuple[str, str]:
    """(access key ID, secret): on the terminal, or two lines from stdin. Never argv."""
    if sys.stdin.isatty():
        # The terminal, as the MFA prompt reads it: bounded, echo restored whatever ends it.
        from ..mfa import MfaError, open_terminal, prompt_timeout, read_line

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
        except MfaError as e:
            raise UserError(e.what, e.fix) from None
        return access_key_id, secret
    import select

    data = b""
    deadline = time.monotonic() + STDIN_TIMEOUT
    while data.count(b"\n") < 2:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sys.stdin.buffer], [], [], left)[0]:
            raise UserError(f"no keys on stdin within {STDIN_TIMEOUT}s",
                            "pipe two lines: the access key ID, then the secret access key")
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            break
        data += chunk
        if len(data) > 16384:
            break
    lines = data.decode("utf-8", "replace").splitlines()
    if len(lines) < 2:
        raise UserError("stdin must hold two lines: the access key ID, then the secret access "
                        "key", "e.g. printf '%s\\n%s\\n' \"$ID\" \"$SECRET\" | "
                               "xaccount-credproc source add NAME")
    return lines[0].strip(), lines[1].strip()


def _verified(name: str, access_key_id: str, secret: str, region: str | None):
    """StoredKeys for a key pair that AWS accepts as an IAM user's (GetCallerIdentity)."""
    from .. import sources
    from ..sts import StsSource

    probe = sources.StoredKeys(access_key_id, secret, "")
    sts = StsSource(name, region, name, keys=probe)
    identity = sts.call_api("GetCallerIdentity", lambda: sts.client().get_caller_identity())
    arn = identity["Arn"]
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


def _store_and_declare(args, keys, aws_profile: bool | None) -> None:
    from .. import config, sources, toml_edit
    from ..store import StoreError

    path = config_path(args)
    values = {"region": args.region, "mfa_serial": args.mfa_serial, "aws_profile": aws_profile}
    # Declared first (validated: a name taken by a profile is refused before anything is
    # stored), then stored.
    toml_edit.set_source(path, args.name, values)
    source = config.source(config.load(path), args.name)
    try:
        sources.write(sources.store_for(source), args.name, keys)
    except StoreError as e:
        raise UserError(f"cannot store the keys in the OS keyring: {e.what}", e.fix) from None


# -- import ---------------------------------------------------------------------------------------

KEY_OPTIONS = ("aws_access_key_id", "aws_secret_access_key")


def _import(args) -> int:
    from .. import awsconfig, paths, sources
    from ..sync import locked

    files = [(paths.aws_credentials_path(), args.name),
             (paths.aws_config_path(), "default" if args.name == "default"
              else f"profile {args.name}")]
    with locked(files[0][0], "the AWS credentials file"), locked(files[1][0], "the AWS config"):
        found = {}  # option -> value, from whichever file has them (credentials file first)
        texts = {}
        for path, header in files:
            texts[path] = awsconfig.read(path)
            for option, value in _key_options(texts[path], header).items():
                found.setdefault(option, value)
        if _has_option(texts, files, "aws_session_token"):
            raise UserError(f"profile '{args.name}' holds temporary credentials (a session "
                            "token)", "import an IAM user's long-term keys")
        if set(found) != set(KEY_OPTIONS):
            raise UserError(f"profile '{args.name}' has no access key pair in "
                            f"{files[0][0]} or {files[1][0]}", "check the name, or store keys "
                            f"with 'xaccount-credproc source add {args.name}'")
        access_key_id, secret = found["aws_access_key_id"], found["aws_secret_access_key"]
        sources.check_format(access_key_id, secret)
        keys = _verified(args.name, access_key_id, secret, args.region)
        _store_and_declare(args, keys, aws_profile=True)
        # Only now, with the keys safe in the keyring: out of every file, backups included.
        for path, header in files:
            for candidate in (path, path + ".bak"):
                _scrub(candidate, header, secret)
    print(f"moved the key {sources.mask(keys.access_key_id)} of {keys.user_arn} from "
          f"{files[0][0]} into the OS keyring as source '{args.name}'; run "
          "'xaccount-credproc init' so that 'aws --profile "
          f"{args.name}' is served by the helper")
    return 0


def _key_options(text: str, header: str) -> dict[str, str]:
    from .. import awsconfig

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


def _has_option(texts, files, option: str) -> bool:
    return any(option in _key_options(texts[path], header) for path, header in files)


def _scrub(path: str, header: str, secret: str) -> None:
    """Remove exactly the key lines of `header` from `path` (every other byte stays), and a
    file that still holds the secret after that (an old .bak) entirely."""
    from .. import awsconfig

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
    awsconfig.write_atomically(path, kept, backup=False)


# -- rotate ---------------------------------------------------------------------------------------


def _pause(step: str) -> None:
    """Where the tests kill `rotate` with SIGKILL (never set outside them)."""
    if os.environ.get(PAUSE_ENV) == step:
        print(f"xaccount-credproc: paused at {step}", file=sys.stderr, flush=True)
        time.sleep(60)


def _rotate(args) -> int:
    from .. import config, sources
    from ..provider import CredentialProvider
    from ..sts import StsSource

    loaded = config.load(config_path(args))
    source = config.source(loaded, args.name)
    store = sources.store_for(source)
    old, pending = _stored(store, args.name), _stored(store, args.name, pending=True)
    if old is None:
        raise ConfigError(f"source '{args.name}' has no keys stored", "store them with "
                          f"'xaccount-credproc source add {args.name}'")
    as_user = loaded.source_as_profile(args.name)
    provider = CredentialProvider(as_user)
    # IAM policies often demand MFA: sign IAM with the user's MFA session when there is one.
    signer = provider.user_session() if source.mfa_serial else None
    sts = StsSource(args.name, source.region, args.name, keys=old)
    iam = sts.iam(signer)
    listed = sts.call_api("ListAccessKeys", lambda: iam.list_access_keys(
        UserName=old.user_name))["AccessKeyMetadata"]
    ids = [k["AccessKeyId"] for k in listed]

    if pending is not None and pending.access_key_id in ids:
        new = pending  # a rotation that was interrupted: finish it
    else:
        if pending is not None:
            sources.delete(store, args.name, pending=True)
        if len(ids) >= 2:
            others = [sources.mask(i) for i in ids if i != old.access_key_id]
            raise UserError(f"IAM user {old.user_name} already has 2 access keys (stored: "
                            f"{sources.mask(old.access_key_id)}; not stored here: "
                            f"{', '.join(others)}), the most AWS allows", "delete the one not "
                            f"stored here (aws iam delete-access-key --user-name "
                            f"{old.user_name} --access-key-id ID), then rotate again")
        created = sts.call_api("CreateAccessKey", lambda: iam.create_access_key(
            UserName=old.user_name))["AccessKey"]
        new = sources.StoredKeys(created["AccessKeyId"], created["SecretAccessKey"],
                                 old.user_arn)
        _pause("after-create")
        _write(store, args.name, new, pending=True)
        _pause("after-store")
    _wait_until_accepted(args.name, new, source.region)
    _write(store, args.name, new)
    # Fresh: the old key goes. Resumed: whichever key is not the new one (at most 2 exist).
    doomed = [k for k in ids if k != new.access_key_id] if new is pending else [
        old.access_key_id]
    _pause("before-delete")
    iam_new = StsSource(args.name, source.region, args.name, keys=new).iam(signer)
    for key_id in doomed:
        sts.call_api("DeleteAccessKey", lambda k=key_id: iam_new.delete_access_key(
            UserName=old.user_name, AccessKeyId=k))
    sources.delete(store, args.name, pending=True)
    dropped = _drop_sessions(loaded, args.name)
    gone = ", ".join(sources.mask(k) for k in doomed) or "nothing"
    print(f"rotated source '{args.name}': the new key {sources.mask(new.access_key_id)} is "
          f"stored and accepted; deleted in IAM: {gone}; {dropped} cached session(s) made with "
          "the old key dropped")
    return 0


def _stored(store, name: str, pending: bool = False):
    from .. import sources
    from ..store import StoreError

    try:
        return sources.read(store, name, pending)
    except StoreError as e:
        raise UserError(f"cannot read the stored keys: {e.what}", e.fix) from None


def _write(store, name: str, keys, pending: bool = False) -> None:
    from .. import sources
    from ..store import StoreError

    try:
        sources.write(store, name, keys, pending)
    except StoreError as e:
        raise UserError(f"cannot store the new key: {e.what}", e.fix) from None


def _wait_until_accepted(name: str, keys, region: str | None) -> None:
    """A new IAM key takes a few seconds to be accepted everywhere."""
    from ..errors import AwsError
    from ..sts import StsSource

    deadline = time.monotonic() + ACCEPT_TIMEOUT
    while True:
        sts = StsSource(name, region, name, keys=keys)
        try:
            sts.call_api("GetCallerIdentity", lambda s=sts: s.client().get_caller_identity())
            return
        except AwsError:
            if time.monotonic() > deadline:
                raise AwsError(f"the new key {keys.access_key_id[-4:]} was not accepted within "
                               f"{ACCEPT_TIMEOUT}s", "run 'xaccount-credproc source rotate "
                               f"{name}' again later: it finishes the rotation") from None
            time.sleep(1)


def _drop_sessions(loaded, name: str) -> int:
    """Cached sessions made with the old key: the source's own and every profile's behind it."""
    from ..provider import CredentialProvider

    dropped = CredentialProvider(loaded.source_as_profile(name)).clear_user_session()
    for profile_name in loaded.names():
        profile = loaded.resolve(profile_name)
        if profile.chain[0].source_profile == name and profile.chain[0].stored_source:
            dropped += CredentialProvider(profile).clear()
    return dropped


# -- remove and list ------------------------------------------------------------------------------


def _remove(args) -> int:
    from .. import config, sources, toml_edit

    path = config_path(args)
    loaded = config.load(path)
    source = config.source(loaded, args.name)
    users = [n for n in loaded.names() if loaded.resolve(n).chain[0].source_profile == args.name]
    if users:
        raise UsageError(f"source '{args.name}' is used by {', '.join(users)}",
                         "change or remove those profiles first")
    store = sources.store_for(source)
    removed = sources.delete(store, args.name) + sources.delete(store, args.name, pending=True)
    toml_edit.remove_source(path, args.name)
    print(f"removed source '{args.name}' ({'its keys' if removed else 'no keys were stored'}; "
          "the key still exists in IAM: delete it there if it is no longer needed)")
    return 0


def _list(args) -> int:
    from .. import config, sources

    loaded = config.load(config_path(args))
    rows = [("SOURCE", "KEY", "IAM USER", "AGE", "AWS PROFILE")]
    now = time.time()
    for name in sorted(loaded.sources):
        source = config.source(loaded, name)
        keys = _stored(sources.store_for(source), name)
        if keys is None:
            rows.append((name, "-", "(no keys stored)", "-", "yes" if source.aws_profile else "no"))
            continue
        rows.append((name, sources.mask(keys.access_key_id), keys.user_arn,
                     f"{int((now - keys.created) // 86400)}d",
                     "yes" if source.aws_profile else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0
