"""What names a Tab offers (argcomplete completers): profile and source names from the TOML,
client ids from the credential server's directory, read at each Tab. Never raises, never
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
