#!/usr/bin/env bash
# performance-report.sh: per upstream and tool calls, error rates and latency percentiles (forge report performance).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report performance "$@"
