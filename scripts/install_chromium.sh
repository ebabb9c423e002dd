#!/usr/bin/env bash
# Ensure Debian's Chromium (package `chromium`) is installed; print the path of its binary.
# The browser tests (tests/browser) drive it with Python playwright; playwright's own browser
# download is never used (hospital CI and this project's machines reach only package registries).
# fonts-liberation: metric-compatible Arial/Times, so screenshots and print layout are stable.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
apt_binary "chromium fonts-liberation" /usr/bin/chromium chromium
