#!/usr/bin/env bash
# The whole test suite: set-up, formatting and lint (ruff), types (mypy on app/), tests (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/setup_sekmet.sh                 # the real FHIR server the fetch tests run against
# PostgreSQL server binaries (the database tests start a server on loopback); CI must have them
if ! bash scripts/install_postgres.sh >/dev/null; then
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "warning: PostgreSQL is not installed here; the PostgreSQL tests will be skipped" >&2
fi
# HAProxy (the replica test puts it in front of two service processes); CI must have it
if ! bash scripts/install_haproxy.sh >/dev/null; then
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "warning: HAProxy is not installed here; the replica test will be skipped" >&2
fi
# Chromium (Debian's; the browser tests drive it with playwright, no browser download); CI must have it
if ! bash scripts/install_chromium.sh >/dev/null; then
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "warning: Chromium is not installed here; the browser tests will be skipped" >&2
fi
.venv/bin/ruff format --check app tests scripts bench alembic
.venv/bin/ruff check app tests scripts bench alembic
.venv/bin/mypy app
.venv/bin/mypy tests/browser  # strict too ([tool.mypy]): the EHR simulator and browser tests
.venv/bin/python scripts/export_openapi.py --check
.venv/bin/pytest "$@"
