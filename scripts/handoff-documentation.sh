#!/usr/bin/env bash
# handoff-documentation.sh ID: the incident and its whole timeline, for the next person (forge incident show).
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || usage
exec "$forge_path" incident show "$@"
