#!/usr/bin/env bash
# bottleneck-analysis.sh: the slowest tools, highest error rates and saturated resources (forge report bottlenecks).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" report bottlenecks "$@"
