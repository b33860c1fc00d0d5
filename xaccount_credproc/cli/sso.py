"""`sso login|logout|status`: signing in to IAM Identity Center, as `aws sso login` does, into the
same token file (credentials/sso/), so the AWS CLI, boto3 and every SDK share the login."""

NAME = "sso"
SUMMARY = "sign in to IAM Identity Center (login, logout, status), sharing the AWS CLI's login"


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    login = actions.add_parser("login", help="sign in: the browser (PKCE), or a device code")
    logout = actions.add_parser("logout", help="sign out at IAM Identity Center and remove the "
                                               "token")
    for sub in (login, logout):
        which = sub.add_mutually_exclusive_group()
        which.add_argument("--sso-session", metavar="NAME",
                           help="an [sso-session NAME] of the AWS config")
        which.add_argument("--profile", metavar="NAME",
                           help="an AWS profile that signs in with IAM Identity Center")
    login.add_argument("--use-device-code", action="store_true",
                       help="the device code flow: approve on any device (SSH, containers)")
    login.add_argument("--no-browser", action="store_true",
                       help="print the URL instead of opening a browser")
    actions.add_parser("status", help="each session: signed in or not, until when (never the "
                                      "token)")


def run(args) -> int:
    return {"login": _login, "logout": _logout, "status": _status}[args.action](args)


def _session(args):
    from ..credentials import sso
    from ..errors import ConfigError

    if args.sso_session:
        return sso.session_named(args.sso_session)
    if args.profile:
        return sso.session_of_profile(args.profile)
    sessions = sso.all_sessions()
    if len(sessions) == 1:
        return sessions[0]
    raise ConfigError("name the session to sign in to: " + (
        f"the AWS config has {len(sessions)} ({', '.join(s.name or '?' for s in sessions)})"
        if sessions else "the AWS config has no [sso-session NAME]"),
        "use --sso-session NAME or --profile NAME")


def _login(args) -> int:
    from ..credentials.sso import login

    session = _session(args)
    flow = login.device_login if args.use_device_code else login.browser_login
    document = flow(session, browser=not args.no_browser)
    print(f"signed in to {session.label} ({session.start_url}) until {document['expiresAt']}")
    return 0


def _logout(args) -> int:
    from ..credentials.sso import login

    session = _session(args)
    had = login.logout(session)
    print(f"signed out of {session.label}" if had else f"{session.label} was not signed in")
    return 0


def _status(args) -> int:
    from ..credentials import sso

    sessions = sso.all_sessions()
    if not sessions:
        print("no [sso-session NAME] in the AWS config")
        return 0
    for session in sessions:
        print(f"{session.name}  {session.start_url}  {sso.state(session)[0]}")
    return 0
