#!/usr/bin/env bash
# document-attempts.sh ID TEXT: record a resolution attempt in the timeline (forge incident note).
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || usage
exec "$forge_path" incident note "$@"
