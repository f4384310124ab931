#!/usr/bin/env bash
# capacity-report.sh: capacity and headroom (forge report capacity).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report capacity "$@"
