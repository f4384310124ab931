#!/usr/bin/env bash
# restore-services.sh: restart every service that is not running and healthy (forge incident recover --all).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" incident recover "$@"
