#!/usr/bin/env bash
# resource-trends.sh: growth of traffic and latency over the recorded window (forge report trends).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report trends "$@"
