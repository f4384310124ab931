#!/usr/bin/env bash
# resource-trends.sh: growth of traffic and latency over the recorded window (forge report trends).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" report trends "$@"
