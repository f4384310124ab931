#!/usr/bin/env bash
# bottleneck-analysis.sh: the slowest tools, highest error rates and saturated resources (forge report bottlenecks).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report bottlenecks "$@"
