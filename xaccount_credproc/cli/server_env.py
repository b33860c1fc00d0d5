"""`server-env --profile NAME`: a new client of the running credential server, as the
variables a program or a container needs."""

import sys

from ._common import add_profile_option, config_path

NAME = "server-env"
SUMMARY = "print the variables that point a program or container at the credential server"


def add_arguments(parser) -> None:
    add_profile_option(parser)
    parser.add_argument("--container", action="store_true",
                        help="AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (169.254.170.2, every SDK "
                             "including Ruby's) instead of a loopback FULL_URI and a token")
    parser.add_argument("--format", choices=("sh", "dotenv", "json"), default="sh",
                        help="sh: export lines for eval (default); dotenv: for docker/podman "
                             "--env-file; json")
    parser.add_argument("--label", metavar="TEXT", help="a name for this client in the log and "
                        "in 'list' (default: the profile and the form)")


def run(args) -> int:
    from ..config.loader import load
    from ..errors import UserError
    from ..server import client, state
    from ._common import printable

    path = config_path(args)
    profile = load(path, lenient=True).resolve(args.profile)
    info = client.require_running(path)
    if args.container and not info.get("container"):
        raise UserError("the running credential server has no container listener",
                        "restart it with 'xaccount-credproc serve --container-listen "
                        "169.254.170.2' (see container-setup)")
    label = printable(args.label or f"{profile.name} {'container' if args.container else 'env'}")
    made = state.register([profile.name], label[:80], container=args.container)
    url = f"http://{info['address']}:{info['port']}"
    sys.stdout.write(client.formatted(client.variables(url, profile, made, args.container),
                                      args.format))
    sys.stdout.flush()
    print(f"xaccount-credproc: client {made.client.id} may ask for profile '{profile.name}'; "
          f"revoke it with 'xaccount-credproc server-revoke {made.client.id}'", file=sys.stderr)
    return 0
