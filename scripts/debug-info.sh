#!/usr/bin/env bash
# debug-info.sh: ports, upstream connectivity, disk, clock and permissions (forge doctor).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" doctor "$@"
