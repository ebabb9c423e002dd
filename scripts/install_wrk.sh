#!/usr/bin/env bash
# Ensure wrk (Debian's `wrk`, an HTTP load generator in C with Lua scripting) is installed;
# print the path of its binary. Only the throughput benchmark (bench/workers.py) uses it: it
# spends a fraction of the CPU the Python load generator needs, which matters on 2 cores.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
apt_binary wrk wrk /usr/bin/wrk
