#!/usr/bin/env bash
# Stop the cluster that scripts/start_test_postgres.sh started in DIR (its files are kept).
# Usage: scripts/stop_test_postgres.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$(realpath -m "$1")
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || py=python3
exec "$py" -m tests.support.postgres stop "$dir"
