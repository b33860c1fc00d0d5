"""`console --profile NAME`: sign in to the AWS console as the profile's role."""

from ..errors import UserError
from ._common import (
    PROG,
    UsageError,
    add_profile_option,
    config_path,
    role_credentials,
    seconds,
)

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


def run(args) -> int:
    from ..credentials import console

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
    profile, credentials = role_credentials(args)
    region = args.region or profile.region or "us-east-1"
    destination = console.destination_url(args.destination, profile.partition, region)
    url = console.signin_url(credentials, profile.partition, destination,
                             args.session_duration)
    if args.print:
        print(url)
        return 0
    import webbrowser

    if not webbrowser.open(url):
        raise UserError("no web browser could be opened",
                        f"use '{PROG} console --profile {args.profile} --print' and open the "
                        "URL yourself (it signs you in: keep it private)")
    print(f"opened the AWS console for profile '{args.profile}' in your browser")
    return 0
