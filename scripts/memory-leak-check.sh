#!/usr/bin/env bash
# memory-leak-check.sh: memory of every service against the thresholds, and its growth (forge monitor --check, forge report trends).
. "$(dirname "$0")/lib.sh"
forge ps --json >/dev/null
forge monitor --check "$@" || true
exec "$forge_path" report trends
