#!/usr/bin/env bash
# capacity-report.sh: capacity and headroom (forge report capacity).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" report capacity "$@"
