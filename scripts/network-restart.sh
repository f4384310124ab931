#!/usr/bin/env bash
# network-restart.sh: replace the gateway replicas one at a time, failing no request (forge restart gateway).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" restart gateway "$@"
