#!/usr/bin/env bash
# Ensure HAProxy (Debian's `haproxy`) is installed; print the path of its binary.
# The replica test (tests/scaleout) puts it in front of two service processes on loopback.
set -euo pipefail

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
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: installing haproxy needs root" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "installing haproxy from Debian packages" >&2
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1 ||
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends haproxy >>"$log" 2>&1; then
    cat "$log" >&2
    echo "error: apt-get install haproxy failed" >&2
    exit 1
  fi
  exe=$(find_haproxy)
  [ -n "$exe" ] || { echo "error: haproxy installed but no binary found" >&2; exit 1; }
fi
echo "$exe"
