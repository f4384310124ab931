#!/usr/bin/env bash
# assess-incident.sh [ID]: collect diagnostics from the live stack and grade them (forge incident assess).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" incident assess "$@"
