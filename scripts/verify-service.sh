#!/usr/bin/env bash
# verify-service.sh SERVICE: after a deploy or restart, check that a service is healthy (forge verify).
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || usage
svc=$1
shift
[ "$svc" = service-manager ] && svc=manager
exec "$forge_path" verify "$svc" "$@"
