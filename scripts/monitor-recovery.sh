#!/usr/bin/env bash
# monitor-recovery.sh [SECONDS]: watch the thresholds while recovering (forge monitor --watch).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" monitor --watch "${1:-15}" "${@:2}"
