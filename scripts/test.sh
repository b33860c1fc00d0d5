#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what it needs, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check .
# Two workers, each test given to whichever is free (work stealing); `-n 0` after it runs
# everything in one process.
exec .venv/bin/python -m pytest -n 2 --dist worksteal "$@"
