#!/usr/bin/env bash
# scale-status.sh: services and their replicas (forge ps), then the autoscaling policies and
# their last changes (forge autoscale status).
. "$(dirname "$0")/lib.sh"
forge ps "$@"
exec "$forge_path" autoscale status "$@"
