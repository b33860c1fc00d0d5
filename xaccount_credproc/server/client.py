"""What other commands ask of the credential server: is one running (and answering), and the
environment that points a program or a container at it."""

import json
import os

from ..errors import UserError
from . import CONTAINER_PATH, HEALTH_PATH, PROTOCOL_PATH, state

# `doctor`, `list`, `server-env` and `exec --server` ask the server over loopback: bounded.
HEALTH_TIMEOUT = 2.0


def health(info: dict) -> str | None:
    """None when the server in `info` answers its health check; else why not."""
    import http.client

    connection = http.client.HTTPConnection(info.get("address", "127.0.0.1"), info["port"],
                                            timeout=HEALTH_TIMEOUT)
    try:
        connection.request("GET", HEALTH_PATH)
        response = connection.getresponse()
        body = json.loads(response.read(4096) or b"{}")
    except (OSError, ValueError) as e:
        return f"it does not answer on port {info['port']} ({type(e).__name__})"
    finally:
        connection.close()
    if response.status != 200 or body.get("Pid") != info["pid"]:
        return f"port {info['port']} is answered by something else"
    return None


def running(config_path: str) -> dict | None:
    """The running server's info when it answers and serves `config_path`, else None."""
    try:
        return require_running(config_path)
    except UserError:
        return None


def require_running(config_path: str) -> dict:
    info = state.read_running()
    if info is None:
        raise UserError("no credential server is running for this user",
                        "start one with 'xaccount-credproc serve' (README: a systemd --user "
                        "unit keeps it running)")
    why = health(info)
    if why is not None:
        raise UserError(f"the credential server (pid {info['pid']}) is not answering: {why}",
                        "restart it ('xaccount-credproc serve')")
    if info.get("config") != os.path.abspath(config_path):
        raise UserError(f"the running credential server serves {info.get('config')}, not "
                        f"{os.path.abspath(config_path)}",
                        "restart it with --config for this file, or use that config")
    return info


def variables(url: str, profile, made, container: bool) -> dict[str, str]:
    """The variables that point an SDK at the server for `profile`."""
    if container:
        out = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": CONTAINER_PATH + made.path_secret}
    else:
        out = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{url}{PROTOCOL_PATH}{profile.name}",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": made.token}
    if profile.region:
        out["AWS_REGION"] = profile.region
        out["AWS_DEFAULT_REGION"] = profile.region
    return out


def formatted(values: dict[str, str], form: str) -> str:
    import shlex

    from ..credentials.execenv import CLEARED

    if form == "json":
        return json.dumps(values, indent=2) + "\n"
    if form == "dotenv":  # docker --env-file takes values as they are: no quotes
        return "".join(f"{name}={value}\n" for name, value in values.items())
    # What would win over the container provider (keys, a profile) is unset first.
    lines = [f"unset {name}" for name in CLEARED if name not in values]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def summary() -> list[str]:
    """For `list`: the server and its clients (ids, profiles, labels; nothing secret)."""
    info = state.read_running()
    if info is None:
        return ["credential server: not running"]
    why = health(info)
    where = f"http://{info['address']}:{info['port']}"
    if info.get("container"):
        where += f", containers on {info['container']}"
    clients = state.saved_clients()
    lines = [f"credential server: {'running' if why is None else 'NOT ANSWERING'} (pid "
             f"{info['pid']}, {where}), clients: {len(clients)}"]
    lines += [f"  client {c.id}  {', '.join(c.profiles)}  {c.label}" for c in clients]
    return lines


def check() -> tuple[str, str, str]:
    """For `doctor`: (ok|warn|fail, what, fix)."""
    info = state.read_running()
    if info is None:
        return ("ok", "credential server: not running (only needed for 'serve', 'server-env' "
                "and 'exec --server')", "")
    why = health(info)
    if why is not None:
        return ("fail", f"credential server (pid {info['pid']}): {why}",
                f"stop it (kill {info['pid']}) and start 'xaccount-credproc serve' again")
    clients = len(state.saved_clients())
    return ("ok", f"credential server: running, answering on http://{info['address']}:"
            f"{info['port']}" + (f" and {info['container']}" if info.get("container") else "")
            + f" ({clients} clients)", "")
