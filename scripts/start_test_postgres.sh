#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 in DIR (created on first use); print its SQLAlchemy URL.
# Usage: scripts/start_test_postgres.sh DIR    (stop it with scripts/stop_test_postgres.sh DIR)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$(realpath -m "$1")
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || py=python3
exec "$py" -m tests.support.postgres start "$dir"
