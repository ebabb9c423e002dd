#!/usr/bin/env bash
# Install the sekmet FHIR R4 test server into its own virtualenv (.venv-sekmet); idempotent and quiet.
set -euo pipefail
cd "$(dirname "$0")/.."

SPEC="sekmet-fhir==0.1.1"
VENV=.venv-sekmet

installed() {
  [ -x "$VENV/bin/sekmet" ] &&
    "$VENV/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(m.version("sekmet-fhir") != sys.argv[1])' "${SPEC#*==}" 2>/dev/null
}

. "$(dirname "$0")/python.sh"

if installed; then
  exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "installing $SPEC into $VENV" >&2
if [ -d "$VENV" ] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
  rm -rf "$VENV" # broken interpreter link: start over
fi
if ! {
  if [ ! -x "$VENV/bin/python" ]; then
    py=$(pick_python)
    "$py" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$SPEC"
} >"$log" 2>&1 || ! installed; then
  cat "$log" >&2
  echo "error: could not install $SPEC into $VENV" >&2
  exit 1
fi
