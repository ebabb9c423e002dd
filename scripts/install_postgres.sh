#!/usr/bin/env bash
# Ensure PostgreSQL server binaries (Debian's `postgresql`, 15 on bookworm) are installed; print their bin dir.
set -euo pipefail

bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
    echo "$dir"
  fi
}

dir=$(bin_dir)
if [ -z "$dir" ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: installing postgresql needs root" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "installing postgresql from Debian packages" >&2
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1 ||
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends postgresql >>"$log" 2>&1; then
    cat "$log" >&2
    echo "error: apt-get install postgresql failed" >&2
    exit 1
  fi
  dir=$(bin_dir)
  [ -n "$dir" ] || { echo "error: postgresql installed but no server binaries found" >&2; exit 1; }
fi
echo "$dir"
