#!/usr/bin/env bash
# update-roles.sh EMAIL ROLE: change a user's role (forge access set-role).
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || usage
exec "$forge_path" access set-role "$@"
