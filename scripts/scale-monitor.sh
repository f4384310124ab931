#!/usr/bin/env bash
# scale-monitor.sh [--tail N]: the autoscaler's decisions, with the load that led to each
# (forge autoscale events).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" autoscale events "$@"
