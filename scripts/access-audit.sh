#!/usr/bin/env bash
# access-audit.sh: changes of roles, memberships and tokens (forge access audit).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" access audit "$@"
