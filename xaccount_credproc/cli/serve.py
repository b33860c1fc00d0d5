"""`serve`: the credential server (the container credentials protocol), in the foreground."""

from ._common import config_path

NAME = "serve"
SUMMARY = "serve credentials over the container credentials protocol (long-running programs, " \
          "containers)"


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, metavar="N",
                        help="loopback port (default: the last one used, else a free one)")
    parser.add_argument("--container-listen", metavar="ADDRESS[:PORT]",
                        help="also listen on this address of 169.254.170.0/24 (port 80 by "
                             "default) for containers, e.g. 169.254.170.2; see container-setup")


def run(args) -> int:
    from ..errors import ConfigError, UserError
    from ..server import daemon, state

    if args.port is not None and not 0 <= args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a port number", "use 1 to 65535, or 0")
    container = (daemon.container_address(args.container_listen)
                 if args.container_listen else None)
    running = state.read_running()
    if running is not None:
        raise UserError(f"a credential server is already running (pid {running['pid']}, port "
                        f"{running['port']})", f"stop it first (kill {running['pid']})")
    daemon.Server(config_path(args), port=args.port, container=container).run_forever()
    return 0
