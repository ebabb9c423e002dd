#!/usr/bin/env bash
# Ensure PostgreSQL server binaries (Debian's `postgresql`, 15 on bookworm) are installed; print their bin dir.
set -euo pipefail
. "$(dirname "$0")/apt.sh"

bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
    echo "$dir"
  fi
}

dir=$(bin_dir)
if [ -z "$dir" ]; then
  apt_install postgresql || exit 1
  dir=$(bin_dir)
  [ -n "$dir" ] || { echo "error: postgresql installed but no server binaries found" >&2; exit 1; }
fi
echo "$dir"
