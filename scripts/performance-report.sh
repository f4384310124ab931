#!/usr/bin/env bash
# performance-report.sh: per upstream and tool calls, error rates and latency percentiles (forge report performance).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" report performance "$@"
