"""`exec --server`: a command given the credential server instead of keys, so it keeps working
past the end of a role session (the server renews them; SDKs fetch again with 15 minutes left).

The running server (`serve`) is used when it serves this config: a client scoped to the one
profile is registered for the command and revoked when it ends. Otherwise a server runs inside
this process, on a free loopback port, for the command's lifetime. Either way the command's
environment holds a URI and a token, never keys.
"""

import os
import signal
import subprocess

from .. import debug
from ..errors import UserError

RELAYED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def run_served(config_path: str, profile, credentials, command: list[str]) -> int:
    from ..credentials.execenv import CLEARED
    from . import client, state

    label = f"exec {os.path.basename(command[0])[:40]} (pid {os.getpid()})"
    info = client.running(config_path)
    if info is not None:
        made = state.register([profile.name], label)
        url = f"http://{info['address']}:{info['port']}"
        debug.log(f"exec --server: the running server on {url}, client {made.client.id}")

        def cleanup():
            state.revoke(made.client.id)
    else:
        from .daemon import Server

        server = Server(config_path, port=0, saved_clients=False, log=debug.log)
        server.supply.seed(profile.name, credentials)
        made = state.new_client([profile.name], label)
        server.registry.own.append(made.client)
        server.start_in_thread()
        url = server.url
        debug.log(f"exec --server: a server in this process on {url}")
        cleanup = server.stop
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(client.variables(url, profile, made, container=False))
    try:
        return _run(command, env)
    finally:
        cleanup()


def _run(command: list[str], env: dict[str, str]) -> int:
    """Run `command` to its end; its exit status is ours (128 + N for signal N)."""
    try:
        child = subprocess.Popen(command, env=env)  # noqa: S603 - the user's own command
    except FileNotFoundError:
        raise UserError(f"command not found: {command[0]}", "check the name and PATH") from None
    except PermissionError:
        raise UserError(f"command not executable: {command[0]}",
                        "check its permissions") from None

    def relay(signum, frame):
        child.send_signal(signum)

    previous = {number: signal.signal(number, relay) for number in RELAYED}
    # Ctrl-C reaches the command from the terminal itself; it decides what to do with it.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return status if status >= 0 else 128 - status
