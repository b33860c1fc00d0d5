"""`sso login|logout|status`: signing in to IAM Identity Center, as `aws sso login` does, into the
same token file (credentials/sso/), so the AWS CLI, boto3 and every SDK share the login."""

NAME = "sso"
SUMMARY = ("IAM Identity Center: sign in (login, logout, status, sharing the AWS CLI's login) "
           "and a profile for every account and role (sync)")


def add_arguments(parser) -> None:
    from ._names import profile_names, sso_session_names
    from .parser import add_name_template

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    login = actions.add_parser("login", help="sign in: the browser (PKCE), or a device code")
    logout = actions.add_parser("logout", help="sign out at IAM Identity Center and remove the "
                                               "token")
    for sub in (login, logout):
        which = sub.add_mutually_exclusive_group()
        which.add_argument("--sso-session", metavar="NAME",
                           help="an [sso-session NAME] of the AWS config"
                           ).completer = sso_session_names
        which.add_argument("--profile", metavar="NAME",
                           help="a profile that signs in with IAM Identity Center (an "
                                "Identity Center role of the TOML, or an AWS profile)"
                           ).completer = profile_names
    login.add_argument("--use-device-code", action="store_true",
                       help="the device code flow: approve on any device (SSH, containers)")
    login.add_argument("--no-browser", action="store_true",
                       help="print the URL instead of opening a browser")
    actions.add_parser("status", help="each session: signed in or not, until when (never the "
                                      "token)")
    synced = actions.add_parser("sync", help="a TOML profile for every account and role you are "
                                             "assigned, then the AWS config's stanzas")
    synced.add_argument("--sso-session", metavar="NAME", required=True,
                        help="the session whose accounts and roles to sync"
                        ).completer = sso_session_names
    synced.add_argument("--prune", action="store_true",
                        help="remove synced profiles whose account or role is no longer assigned")
    synced.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    add_name_template(synced)


def run(args) -> int:
    return {"login": _login, "logout": _logout, "status": _status,
            "sync": _sync}[args.action](args)


def _session(args):
    from ..credentials import sso
    from ..errors import ConfigError
    from ._common import config_path

    if args.sso_session:
        return sso.session_named(args.sso_session)
    if args.profile:
        from ..config import loader
        from ..errors import UserError

        try:  # an Identity Center role of the TOML, if there is a TOML config naming it
            loaded = loader.load(config_path(args), lenient=True)
            profile = loaded.resolve(args.profile) if args.profile in loaded.names() else None
        except UserError:
            profile = None
        if profile is not None and profile.sso is not None:
            return sso.session_from_profile(profile)
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


def _sync(args) -> int:
    from ..discovery.identity_center import sync
    from ..discovery.naming import DEFAULT_TEMPLATE
    from ._common import config_path, init_report

    plan, result = sync(config_path(args), args.sso_session,
                        args.name_template or DEFAULT_TEMPLATE, args.prune,
                        args.dry_run)
    verb = "would " if args.dry_run else ""
    print(f"sso-session '{args.sso_session}': {plan.accounts} accounts, "
          f"{len(plan.assignments)} roles assigned; {plan.unchanged} profiles kept")
    if plan.added:
        print(f"{verb}add {len(plan.added)}: " + ", ".join(name for name, _ in plan.added))
    if plan.removed:
        print(f"{verb}remove {len(plan.removed)}: " + ", ".join(plan.removed))
    return init_report(result) if result is not None else 0
