"""`switch-role-url --profile NAME`: the console's switch-role link (no credentials involved)."""

from ._common import PROG, add_profile_option, config_path, warn

NAME = "switch-role-url"
SUMMARY = "print the console's switch-role link for a profile"


def add_arguments(parser) -> None:
    add_profile_option(parser)
    parser.add_argument("--display-name", metavar="TEXT",
                        help="label in the console (default: display_name, else the profile name)")
    parser.add_argument("--color", metavar="COLOR",
                        help="red, orange, yellow, green, blue or a hex colour")


def run(args) -> int:
    from ..config import loader
    from ..console import signin

    profile = loader.load(config_path(args), lenient=True).resolve(args.profile)
    role = profile.role_arn.split(":role/", 1)[1]
    url = signin.switch_role_url(profile.partition, profile.account_id, role,
                                  args.display_name or profile.console.display_name or profile.name,
                                  args.color or profile.console.color)
    if profile.external_id:
        warn([f"profile '{profile.name}' uses an ExternalId, which the console's switch role "
              "cannot send: the link works only if the role's trust policy does not require it; "
              f"use '{PROG} console --profile {profile.name}' instead"])
    print(url)
    return 0
