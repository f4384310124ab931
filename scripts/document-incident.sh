#!/usr/bin/env bash
# document-incident.sh ID TEXT: add a note to an incident's timeline (forge incident note).
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || usage
exec "$forge_path" incident note "$@"
