#!/usr/bin/env bash
# access-audit.sh: changes of roles, memberships and tokens (forge access audit).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" access audit "$@"
