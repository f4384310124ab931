#!/usr/bin/env bash
# monitor-recovery.sh [SECONDS]: watch the thresholds while recovering (forge monitor --watch).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" monitor --watch "${1:-15}" "${@:2}"
