#!/usr/bin/env bash
# Set up and start Forge on a fresh Debian 12 machine: installs what is needed, builds a
# Release binary and runs the gateway on embedded defaults (http://127.0.0.1:8000, data in
# ./data). Extra arguments go to `forge gateway` (e.g. ./run.sh --log-format json).
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
"$root/tools/install-deps.sh"
"$root/tools/build.sh" "$root/build"
echo "run.sh: starting forge gateway (Ctrl-C stops it gracefully)"
exec "$root/build/exe/forge" gateway "$@"
