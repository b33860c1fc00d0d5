#!/usr/bin/env bash
# Installs everything the demo and the tests need, on a fresh Debian/Ubuntu machine, without
# asking anything: Debian packages (dbus, gnome-keyring, awscli v2, golang-go and the Go AWS SDK,
# Xvfb, zenity, xdotool and xwd, Podman with runc, Chromium, a Python >= 3.11 with venv) and a
# project virtualenv in .venv with the package (editable) and its dev extras. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_=""
[ "$(id -u)" = 0 ] || sudo_="sudo -n"
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  $sudo_ apt-get update -qq
  $sudo_ apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

python=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python=$(command -v "$candidate"); break
  fi
done

packages=()
command -v dbus-daemon >/dev/null || packages+=(dbus)
command -v gnome-keyring-daemon >/dev/null || packages+=(gnome-keyring)
# The client matrix (tests/test_clients.py): the AWS CLI v2 and the AWS SDK for Go v2 as Debian
# ships them, the Go program built offline against the packaged SDK.
[ -x /usr/bin/aws ] || packages+=(awscli)
command -v go >/dev/null || packages+=(golang-go)
[ -d /usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/service/sts ] ||
  packages+=(golang-github-aws-aws-sdk-go-v2-dev)
# MFA dialogs (tests/test_mfa_dialog.py): a virtual X server, zenity, xdotool to answer the
# dialog, xwd for a screenshot of it.
command -v Xvfb >/dev/null || packages+=(xvfb)
command -v zenity >/dev/null || packages+=(zenity)
command -v xdotool >/dev/null || packages+=(xdotool)
command -v xwd >/dev/null || packages+=(x11-apps)
# The kernel-keyring quota test (tests/test_kernel_keyring.py) runs the helper as a throwaway
# user, with the system interpreter (the venv's may sit under a directory that user cannot enter).
[ -x /usr/bin/python3 ] || packages+=(python3)
command -v useradd >/dev/null || packages+=(passwd)
command -v pkill >/dev/null || packages+=(procps)
# The terminal prompt's order of termios calls and writes (tests/test_credential_process.py).
command -v strace >/dev/null || packages+=(strace)
# The wrapper matrix (tests/test_wrappers.py): sudo and GNU time around the helper's line.
command -v sudo >/dev/null || packages+=(sudo)
[ -x /usr/bin/time ] || packages+=(time)
# The credential server (tests/test_server.py): Ruby's SDK (it reads only RELATIVE_URI), and
# iproute2 for the network namespace a container's view is made in.
dpkg -s ruby-aws-sdk-core >/dev/null 2>&1 || packages+=(ruby-aws-sdk-core)
# A real container reaching the server (tests/test_server.py): rootful Podman with runc (crun
# fails on this kind of machine's cgroups); the test keeps its storage and networks to itself.
command -v podman >/dev/null || packages+=(podman)
command -v runc >/dev/null || packages+=(runc)
command -v ip >/dev/null || packages+=(iproute2)
command -v unshare >/dev/null || packages+=(util-linux)
# Completion (tests/test_completion.py) in the real shells; the man page rendered with man;
# pipx for the clean tool install of the built wheel (tests/test_packaging.py).
command -v zsh >/dev/null || packages+=(zsh)
command -v fish >/dev/null || packages+=(fish)
command -v man >/dev/null || packages+=(man-db)
command -v groff >/dev/null || packages+=(groff-base)
command -v pipx >/dev/null || packages+=(pipx)
# IAM Identity Center's browser sign-in (tests/test_sso.py): headless Chromium as the browser.
command -v chromium >/dev/null || packages+=(chromium)
# kubectl against an EKS-like API server (tests/test_eks.py): the machine's, else Debian's.
command -v kubectl >/dev/null || packages+=(kubernetes-client)
if [ -z "$python" ]; then
  packages+=(python3.11 python3.11-venv); python=python3.11
elif ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=("python3-venv" "$(basename "$python")-venv")
fi
if [ "${#packages[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${packages[*]}" >&2
  apt_install "${packages[@]}"
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  echo "bootstrap: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  # compat mode: a plain path entry, not an import hook that every interpreter start would load
  .venv/bin/python -m pip install -q --disable-pip-version-check \
    --config-settings editable_mode=compat -e '.[dev]'
  # Everything the packaging tests install, downloaded now, so that the tests themselves talk
  # to nothing but loopback: the build's own requirements, the runtime dependencies, and the
  # pip, setuptools and wheel that pipx puts into its shared venv.
  rm -rf .venv/wheelhouse
  .venv/bin/python - > .venv/requirements-wheelhouse.txt <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
print("\n".join(project["build-system"]["requires"] + project["project"]["dependencies"]
                + ["pip", "setuptools", "wheel"]))
PY
  .venv/bin/python -m pip download -q --disable-pip-version-check -d .venv/wheelhouse \
    -r .venv/requirements-wheelhouse.txt
  rm -f .venv/.installed-*
  touch "$stamp"
fi
