#!/usr/bin/env bash
# performance-monitor.sh [SECONDS]: check the thresholds every SECONDS (default 10) until interrupted (forge monitor --watch).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" monitor --watch "${1:-10}" "${@:2}"
