#!/usr/bin/env bash
# Ensure Debian's Chromium (package `chromium`) is installed; print the path of its binary.
# The browser tests (tests/browser) drive it with Python playwright; playwright's own browser
# download is never used (hospital CI and this project's machines reach only package registries).
set -euo pipefail
. "$(dirname "$0")/apt.sh"

find_chromium() {
  local exe
  for exe in /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do
    if [ -n "$exe" ] && [ -x "$exe" ]; then
      echo "$exe"
      return
    fi
  done
}

exe=$(find_chromium)
if [ -z "$exe" ]; then
  # fonts-liberation: metric-compatible Arial/Times, so screenshots and print layout are stable
  apt_install chromium fonts-liberation || exit 1
  exe=$(find_chromium)
  [ -n "$exe" ] || { echo "error: chromium installed but no binary found" >&2; exit 1; }
fi
echo "$exe"
