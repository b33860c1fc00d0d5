#!/usr/bin/env bash
# The main job, self-contained: a local STS emulator on 127.0.0.1, a throwaway HOME with the sample
# config, and the real `aws` CLI getting a cross-account role through xaccount-credproc.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m tests.harness.demo "$@"
