#!/usr/bin/env bash
# document-attempts.sh ID TEXT: record a resolution attempt in the timeline (forge incident note).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
[ $# -ge 2 ] || usage
exec "$forge_path" incident note "$@"
