#!/usr/bin/env bash
# Create .venv (Python 3.11+) if missing and (re)install the project when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

. "$(dirname "$0")/python.sh"

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "creating .venv with $py" >&2
  "$py" -m venv .venv
fi

stamp=.venv/.vcf-cds-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing vcf-cds and its dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet -e '.[dev]' >&2
  echo "$want" >"$stamp"
fi
