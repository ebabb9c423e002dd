#!/usr/bin/env bash
# Ensure HAProxy (Debian's `haproxy`) is installed; print the path of its binary.
# The replica test (tests/scaleout) puts it in front of two service processes on loopback.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
apt_binary haproxy haproxy /usr/sbin/haproxy
