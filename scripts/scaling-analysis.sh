#!/usr/bin/env bash
# scaling-analysis.sh: throughput against the observed peak, headroom, and the replicas the load suggests (forge report capacity).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report capacity "$@"
