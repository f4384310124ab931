#!/usr/bin/env bash
# performance-trends.sh: calls, errors and latency over time, and their growth (forge report trends).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report trends "$@"
