#!/usr/bin/env bash
# update-roles.sh EMAIL ROLE: change a user's role (forge access set-role).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
[ $# -ge 2 ] || usage
exec "$forge_path" access set-role "$@"
