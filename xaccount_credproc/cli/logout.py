"""`logout`: forget a login's token (as `aws logout` does), or every login's."""

NAME = "logout"
SUMMARY = "forget a login's token (as 'aws logout'), or every login's (--all)"


def add_arguments(parser) -> None:
    from ._names import login_names

    which = parser.add_mutually_exclusive_group()
    which.add_argument("--profile", metavar="NAME",
                       help="the login (default: $AWS_PROFILE, else default)"
                       ).completer = login_names
    which.add_argument("--all", action="store_true",
                       help="every login token in the AWS CLI's login cache and the OS keyring")


def run(args) -> int:
    import os

    from ..config.rules import check_profile_name
    from ..credentials.login import every_login, login_named
    from ..credentials.login.flows import logout, logout_every_file
    from ._common import config_path

    if args.all:
        removed = logout_every_file() + [login.label for login in every_login(config_path(args))
                                         if login.storage == "keyring" and logout(login)]
        print(f"logged out: {', '.join(removed)}" if removed else "no login to log out of")
        return 0
    from ..errors import ConfigError

    name = check_profile_name(args.profile or os.environ.get("AWS_PROFILE") or "default")
    login = login_named(name, config_path(args))
    if login.storage == "file" and not login.arn:
        raise ConfigError(f"there is no login '{name}': no AWS profile of that name has a "
                          f"login_session, and the TOML config has no [logins.{name}]",
                          "name a login ('xaccount-credproc list' shows them), or use --all")
    print(f"logged out of {login.label}" if logout(login) else f"{login.label} was not signed in")
    return 0
