#!/usr/bin/env bash
# resource-optimize.sh: what to optimise first (forge report bottlenecks).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report bottlenecks "$@"
