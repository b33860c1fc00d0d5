"""`login`: sign in with console credentials through AWS Sign-In, as `aws login` does (the
browser on this computer, or --remote: a code pasted back), into the token the AWS CLI and
botocore share, or the OS keyring alone (credentials/login/)."""

NAME = "login"
SUMMARY = ("sign in with your console credentials (AWS Sign-In, as 'aws login'): the source of "
           "roles, refreshed without you for 12 hours")


def add_arguments(parser) -> None:
    from ._names import login_names

    parser.add_argument("--profile", metavar="NAME",
                        help="the login: an AWS profile (login_session is written there) or a "
                             "[logins.NAME] of the TOML (default: $AWS_PROFILE, else default)"
                        ).completer = login_names
    parser.add_argument("--remote", action="store_true",
                        help="sign in on another device (SSH, containers): the URL is printed "
                             "and the code the page shows is pasted back here")
    parser.add_argument("--no-browser", action="store_true",
                        help="print the URL instead of opening a browser")
    parser.add_argument("--region", metavar="REGION",
                        help="the region of AWS Sign-In (default: the profile's, else "
                             "us-east-1)")


def run(args) -> int:
    import os

    from ..config.rules import check_profile_name
    from ..config.stanzas import set_profile_settings
    from ..credentials.login import login_named, state
    from ..credentials.login.flows import cross_device, same_device
    from ._common import config_path

    name = check_profile_name(args.profile or os.environ.get("AWS_PROFILE") or "default")
    login = login_named(name, config_path(args), args.region)
    before = login.arn
    if args.remote:
        cross_device(login, ask=_ask)
    else:
        same_device(login, browser=not args.no_browser)
    if login.storage == "file":
        values = {"login_session": str(login.arn)}
        if not _has_region(name):
            values["region"] = str(login.region)
        set_profile_settings(name, values)
        if before and before != login.arn:
            print(f"profile '{name}' switched from {before} to {login.arn}")
    print(f"signed in as {login.arn} ({login.label}): {state(login)[0]}")
    return 0


def _has_region(name: str) -> bool:
    from ..credentials.sso import aws_config

    return bool((aws_config().get("profiles", {}).get(name) or {}).get("region"))


def _ask(prompt: str) -> str:
    """The code the confirmation page shows: typed on the terminal (not echoed: it signs in),
    else one line of stdin."""
    import sys

    from ..errors import UserError
    from ..prompt.terminal import open_terminal, prompt_timeout, read_line, read_stdin

    fd = open_terminal("/dev/tty")
    if fd is not None:
        with open(fd, "r+b", buffering=0) as tty:
            return read_line(tty, f"Enter the {prompt} the page shows: ", prompt_timeout(),
                             what=prompt)
    data, late = read_stdin(1, prompt_timeout(), 8192)
    if late or not data.strip():
        raise UserError(f"no {prompt} on stdin" + (" in time" if late else ""),
                        "run the login in a terminal, or pipe the code in")
    sys.stderr.write("\n")
    return data.decode("utf-8", "replace").strip()
