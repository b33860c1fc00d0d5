"""What `xcp` asks of the helper: whether a profile can be switched to (its credentials fetched
now, MFA asked now if needed, so the next command is fast; its AWS profile written by `init`),
and the prompt's line (the profile and the minutes its cached credentials have left, from the
cache alone: no AWS call, no TOML parser, a cache hit's imports)."""

from ..errors import ConfigError


def prompt_line(config_path: str, name: str) -> str:
    """`NAME 42m`, `NAME expired`, `NAME` (nothing cached); never an error: a prompt must not
    break because the keyring is locked. (Its hit is served by credentials/hit.py.)"""
    from ..config.snapshot import load_profile
    from ..credentials.hit import prompt_text
    from ..credentials.resolver import Resolver

    try:
        profile = load_profile(config_path, name, [])
        role, _ = Resolver(profile, warnings=[]).cached()
    except Exception:  # a prompt shows what it can and stays quiet about the rest
        return name
    return name if role is None else prompt_text(name, role)


def check_served(name: str) -> None:
    """The AWS profile `name` must be served by this helper (written by `init`): AWS_PROFILE
    names it for every SDK."""
    from ..config import aws_config_path, awsconfig

    path = aws_config_path()
    if name not in awsconfig.profiles_served_by_helper(awsconfig.read(path)):
        raise ConfigError(f"{path} has no [profile {name}] served by xaccount-credproc, so "
                          f"AWS_PROFILE={name} would not reach it",
                          "run 'xaccount-credproc init', then 'xcp use' again")


def rows(config_path: str) -> list[tuple[str, str, str]]:
    """(profile, account id, role name) of every profile the picker offers."""
    from ..config import loader

    loaded = loader.load(config_path, lenient=True)
    out = []
    for name in loaded.names():
        profile = loaded.resolve(name)
        out.append((name, profile.account_id, profile.role_name))
    return out
