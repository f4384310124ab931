#!/usr/bin/env bash
# debug-info.sh: ports, upstream connectivity, disk, clock and permissions (forge doctor).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" doctor "$@"
