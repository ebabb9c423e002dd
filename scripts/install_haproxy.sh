#!/usr/bin/env bash
# Ensure HAProxy (Debian's `haproxy`) is installed; print the path of its binary.
# The replica test (tests/scaleout) puts it in front of two service processes on loopback.
set -euo pipefail
. "$(dirname "$0")/apt.sh"

find_haproxy() {
  local exe
  for exe in "$(command -v haproxy 2>/dev/null || true)" /usr/sbin/haproxy; do
    if [ -n "$exe" ] && [ -x "$exe" ]; then
      echo "$exe"
      return
    fi
  done
}

exe=$(find_haproxy)
if [ -z "$exe" ]; then
  apt_install haproxy || exit 1
  exe=$(find_haproxy)
  [ -n "$exe" ] || { echo "error: haproxy installed but no binary found" >&2; exit 1; }
fi
echo "$exe"
