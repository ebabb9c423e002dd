#!/usr/bin/env bash
# Ensure wrk (Debian's `wrk`, an HTTP load generator in C with Lua scripting) is installed;
# print the path of its binary. Only the throughput benchmark (bench/workers.py) uses it: it
# spends a fraction of the CPU the Python load generator needs, which matters on 2 cores.
set -euo pipefail
. "$(dirname "$0")/apt.sh"

find_wrk() {
  local exe
  for exe in "$(command -v wrk 2>/dev/null || true)" /usr/bin/wrk; do
    if [ -n "$exe" ] && [ -x "$exe" ]; then
      echo "$exe"
      return
    fi
  done
}

exe=$(find_wrk)
if [ -z "$exe" ]; then
  apt_install wrk || exit 1
  exe=$(find_wrk)
  [ -n "$exe" ] || { echo "error: wrk installed but no binary found" >&2; exit 1; }
fi
echo "$exe"
