"""`console --profile NAME`: sign in to the AWS console as the profile's role."""

from ._common import UsageError, add_profile_option, config_path, role_credentials
from .parser import seconds

NAME = "console"
SUMMARY = "sign in to the AWS console as a profile's role (opens a browser)"


def add_arguments(parser) -> None:
    add_profile_option(parser)
    parser.add_argument("--print", action="store_true",
                        help="print the sign-in URL instead (it is a credential for 15 minutes)")
    parser.add_argument("--destination", metavar="URL|SERVICE",
                        help="console page: a URL in the console, or a service name such as s3")
    parser.add_argument("--region", metavar="REGION",
                        help="console region (default: the profile's)")
    parser.add_argument("--session-duration", metavar="SECONDS", type=seconds,
                        help="console session length, 900-43200 (not for role-chained sessions)")
    parser.add_argument("--browser", metavar="NAME|PATH",
                        help="chromium, chrome, brave or edge (a browser profile per AWS "
                             "profile), firefox (a container per profile), default, or a path "
                             "(default: the profile's browser setting)")


def run(args) -> int:
    from ..console import signin

    if args.session_duration is not None and not 900 <= args.session_duration <= 43200:
        raise UsageError(f"--session-duration {args.session_duration} is out of range",
                         "use 900 to 43200 seconds")
    if args.session_duration is not None:
        from ..config.snapshot import load_profile

        chained = load_profile(config_path(args), args.profile).via
        if chained is not None:
            raise UsageError(f"profile '{args.profile}' is reached through role '{chained.name}' "
                             "(role chaining), and the federation endpoint refuses "
                             "--session-duration for such sessions", "run it without "
                             "--session-duration: the console session lasts as long as the "
                             "role credentials")
    browser = None
    if not args.print:  # a browser that cannot be used is said before anything is fetched
        from ..config.snapshot import load_profile
        from ..console import browsers

        configured = load_profile(config_path(args), args.profile)
        named = args.browser or configured.console.browser
        browser = browsers.choose(named, configured.console.browser_family if named ==
                                  configured.console.browser else None)
        if browser.family == "chromium":
            browsers.data_dir(configured.name)  # made (or refused) before anything is fetched
    profile, credentials = role_credentials(args)
    region = args.region or profile.region or "us-east-1"
    destination = signin.destination_url(args.destination, profile.partition, region)
    url = signin.signin_url(credentials, profile.partition, destination,
                             args.session_duration)
    if args.print:
        print(url)
        return 0
    from ..console import browsers

    assert browser is not None
    refused = browsers.open_console(profile.name, url, browser, profile.console.color)
    where = ("your browser" if browser.family == "default" else
             f"{browser.name}, in its own browser profile" if browser.family == "chromium"
             else f"{browser.name}, in the container '{profile.name}'")
    print(f"opened the AWS console for profile '{args.profile}' in {where}", flush=True)
    if refused:
        from ..errors import UserError

        raise UserError(f"local {refused} asked for this sign-in too and was refused (only "
                        "your own browser is answered)", "someone on this machine reads other "
                        "users' command lines: tell its administrator")
    return 0
