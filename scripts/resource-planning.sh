#!/usr/bin/env bash
# resource-planning.sh: the replicas and headroom the observed load calls for (forge report capacity).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" report capacity "$@"
