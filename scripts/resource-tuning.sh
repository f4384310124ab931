#!/usr/bin/env bash
# resource-tuning.sh: what limits throughput now, to tune first (forge report bottlenecks).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report bottlenecks "$@"
