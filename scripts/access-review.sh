#!/usr/bin/env bash
# access-review.sh: users, roles, teams, tokens and what needs attention (forge access review).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" access review "$@"
