#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what it needs, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check .
# Three workers on these 2-core machines, each test given to whichever is free (work stealing):
# many tests spend their time waiting on a child, a lock or a dialog, so a third worker cuts the
# wall time (13.4 -> 11.2 minutes measured) without starving the others. `-n 0` after it runs
# everything in one process.
exec .venv/bin/python -m pytest -n 3 --dist worksteal "$@"
