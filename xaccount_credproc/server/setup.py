"""The one-time steps that let containers reach the server at 169.254.170.2:80 with
`RELATIVE_URI` (what ECS itself provides, and the only form Ruby's SDK reads), with no proxy
container: a Docker or Podman bridge network on 169.254.170.0/24 whose gateway, the host's end
of the bridge, is 169.254.170.2 (the server binds it even before the bridge exists, with
IP_FREEBIND), and port 80 made bindable by the user's own server. Nothing here touches a
private range (10/8, 172.16/12, 192.168/16).
"""

import os
import shutil
import subprocess

from ..errors import UserError
from . import CONTAINER_ADDRESS

NETWORK = "xaccount-credproc"
BRIDGE = "xcp0"
SUBNET = "169.254.170.0/24"
SYSCTL = "net.ipv4.ip_unprivileged_port_start"
SYSCTL_FILE = "/etc/sysctl.d/60-xaccount-credproc.conf"
STEP_TIMEOUT = 60


def network_command(engine: str) -> list[str]:
    """The bridge network, with options every version Debian ships knows: Podman 4.3 (Debian
    12, CNI) has no --interface-name ("unknown flag"), so Podman names the bridge itself
    (cni-podmanN); the server binds the gateway address, not the bridge's name."""
    name_option = (["--opt", f"com.docker.network.bridge.name={BRIDGE}"] if engine == "docker"
                   else [])
    return [engine, "network", "create", "--driver", "bridge", "--subnet", SUBNET, "--gateway",
            CONTAINER_ADDRESS, *name_option, NETWORK]


def unprivileged_port_start() -> int | None:
    try:
        with open("/proc/sys/" + SYSCTL.replace(".", "/")) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def plan(engine: str) -> str:
    """The steps as a shell script a user can read, then run as root."""
    return "\n".join([
        f"# 1. (root) A {engine} network whose gateway, this host, is {CONTAINER_ADDRESS}:",
        " ".join(network_command(engine)),
        "# 2. (root) Let your own server listen on port 80 (only ports 80-1023 change):",
        f"echo '{SYSCTL} = 80' > {SYSCTL_FILE}",
        f"sysctl -w {SYSCTL}=80",
        "# 3. (you) Run the server with the container listener, e.g. from the systemd unit:",
        f"xaccount-credproc serve --container-listen {CONTAINER_ADDRESS}",
        "# 4. (you) Per container: a client for one profile, then run it on that network:",
        "xaccount-credproc server-env --profile NAME --container --format dotenv > NAME.env",
        f"{engine} run --network {NETWORK} --env-file NAME.env IMAGE",
        f"# Or: sudo xaccount-credproc container-setup --engine {engine} --apply",
        ""])


def apply(engine: str, say) -> None:
    """Steps 1 and 2, as root; each says what it did. Raises UserError."""
    if os.geteuid() != 0:
        raise UserError("container-setup --apply changes the system and needs root",
                        "run it with sudo, or run the printed steps yourself")
    found = shutil.which(engine)
    if found is None:
        say(f"{engine} is not installed: network not created (run step 1 once it is)")
    elif _run([found, "network", "inspect", NETWORK]).returncode == 0:
        say(f"{engine} network {NETWORK} exists already")
    else:
        result = _run([found, *network_command(engine)[1:]])
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise UserError(f"'{engine} network create' failed: {last[:200]}",
                            "run step 1 of 'xaccount-credproc container-setup' by hand")
        say(f"{engine} network {NETWORK} created ({SUBNET}, gateway {CONTAINER_ADDRESS})")
    current = unprivileged_port_start()
    if current is not None and current <= 80:
        say(f"{SYSCTL} is {current} already")
        return
    try:
        with open(SYSCTL_FILE, "w") as f:
            f.write(f"# xaccount-credproc: the credential server on {CONTAINER_ADDRESS}:80\n"
                    f"{SYSCTL} = 80\n")
        with open("/proc/sys/" + SYSCTL.replace(".", "/"), "w") as f:
            f.write("80\n")
    except OSError as e:
        raise UserError(f"cannot set {SYSCTL}: {e.strerror}",
                        "run step 2 of 'xaccount-credproc container-setup' by hand") from None
    say(f"{SYSCTL} = 80 (now, and at boot from {SYSCTL_FILE})")


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=STEP_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise UserError(f"'{' '.join(argv[:3])}' did not finish in {STEP_TIMEOUT}s",
                        "check the container engine") from None
