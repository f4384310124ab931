#!/usr/bin/env bash
# switch-traffic.sh: send live traffic to the new colour, failing no request (forge bluegreen switch).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" bluegreen switch "$@"
