#!/usr/bin/env bash
# network-restart.sh: replace the gateway replicas one at a time, failing no request (forge restart gateway).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" restart gateway "$@"
