"""What names a Tab offers (argcomplete completers): profile and source names from the TOML,
IAM Identity Center sessions from the TOML and the AWS config, client ids from the credential
server's directory, read at each Tab. Never raises, never
prints: a broken config completes nothing."""


def _config(parsed_args):
    from ..config import config_path, loader

    return loader.load(config_path(getattr(parsed_args, "config", None)), lenient=True)


def profile_names(prefix="", parsed_args=None, **_):
    try:
        return [n for n in _config(parsed_args).names() if n.startswith(prefix)]
    except BaseException:  # a broken config, an unreadable file: nothing to offer
        return []


def source_names(prefix="", parsed_args=None, **_):
    try:
        return [n for n in sorted(_config(parsed_args).sources) if n.startswith(prefix)]
    except BaseException:
        return []


def client_ids(prefix="", **_):
    try:
        from ..server import state

        return [c.id for c in state.saved_clients() if c.id.startswith(prefix)]
    except BaseException:
        return []


def sso_session_names(prefix="", parsed_args=None, **_):
    import contextlib

    names: set[str] = set()
    with contextlib.suppress(BaseException):
        names |= set(_config(parsed_args).sso_sessions)
    with contextlib.suppress(BaseException):
        from ..config import aws_config_path, awsconfig

        lines = awsconfig.split_lines(awsconfig.read(aws_config_path()))
        names |= {s.key[len(awsconfig.SESSION_PREFIX):] for s in awsconfig.sections(lines)
                  if s.key and s.key.startswith(awsconfig.SESSION_PREFIX)}
    return sorted(n for n in names if n.startswith(prefix))


def login_names(prefix="", parsed_args=None, **_):
    """The TOML's [logins.NAME] and the AWS profiles with a login_session."""
    import contextlib

    names: set[str] = set()
    with contextlib.suppress(BaseException):
        names |= set(_config(parsed_args).logins)
    with contextlib.suppress(BaseException):
        import re

        from ..config import aws_config_path, awsconfig

        lines = awsconfig.split_lines(awsconfig.read(aws_config_path()))
        for section in awsconfig.sections(lines):
            body = "".join(lines[section.start + 1:section.end])
            if section.profile and re.search(r"(?m)^login_session\s*=", body):
                names.add(section.profile)
    return sorted(n for n in names if n.startswith(prefix))
