"""`container-setup [--engine docker|podman] [--apply]`: the one-time steps for containers."""

NAME = "container-setup"
SUMMARY = "print (or, as root, apply) the one-time steps that let containers reach the server"


def add_arguments(parser) -> None:
    parser.add_argument("--engine", choices=("docker", "podman"), default=None,
                        help="the container engine (default: whichever is installed, "
                             "docker first)")
    parser.add_argument("--apply", action="store_true",
                        help="as root: create the network and allow port 80")


def run(args) -> int:
    import shutil

    from ..server import setup

    engine = args.engine or ("podman" if shutil.which("podman") and not shutil.which("docker")
                             else "docker")
    if args.apply:
        setup.apply(engine, print)
    else:
        print(setup.plan(engine), end="")
    return 0
