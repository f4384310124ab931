#!/usr/bin/env bash
# health-check.sh [SERVICE]: every health check (forge health), or one service's (forge verify SERVICE).
. "$(dirname "$0")/lib.sh"
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
  svc=$1
  shift
  exec "$forge_path" verify "$svc" "$@"
fi
exec "$forge_path" health "$@"
