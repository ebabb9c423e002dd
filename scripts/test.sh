#!/usr/bin/env bash
# The whole test suite: set-up, formatting and lint (ruff), types (mypy on app/), tests (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -f scripts/setup_sekmet.sh ]; then bash scripts/setup_sekmet.sh; fi
.venv/bin/ruff format --check app tests scripts bench alembic
.venv/bin/ruff check app tests scripts bench alembic
.venv/bin/mypy app
.venv/bin/python scripts/export_openapi.py --check
.venv/bin/pytest "$@"
