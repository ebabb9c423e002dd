#!/usr/bin/env bash
# Create .venv (Python 3.11+) if missing and install the pinned dependencies from
# requirements-dev.lock (hashes checked) plus the project itself whenever the lock or pyproject.toml
# changed. A lock older than pyproject.toml stops here: regenerate it with ./scripts/lock.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

. "$(dirname "$0")/python.sh"

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "creating .venv with $py" >&2
  "$py" -m venv .venv
fi

if ! .venv/bin/python scripts/lock_digest.py --check; then
  exit 1
fi

stamp=.venv/.vcf-cds-installed
want=$(cat pyproject.toml requirements-dev.lock | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing vcf-cds and its pinned dependencies (requirements-dev.lock) into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements-dev.lock >&2
  .venv/bin/python -m pip install --quiet --no-deps -e . >&2
  echo "$want" >"$stamp"
fi
