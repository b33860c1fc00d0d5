#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what it needs, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
