#!/usr/bin/env bash
# resource-planning.sh: the replicas and headroom the observed load calls for (forge report capacity).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report capacity "$@"
