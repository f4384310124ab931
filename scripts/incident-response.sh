#!/usr/bin/env bash
# incident-response.sh -r SERVICE | -l SERVICE [LINES] | -s SERVICE REPLICAS
#   -r SERVICE          restart a service, one replica at a time (forge restart); `service-manager`
#                       restarts the manager and with it the stack (forge down, forge up)
#   -l SERVICE [LINES]  the last LINES (default 100) of a service's log (forge logs --tail)
#   -s SERVICE N        run N replicas (forge scale)
# Without a flag: the open incidents (forge incident list --open).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
-r)
  [ $# -ge 2 ] || usage
  if [ "$2" = service-manager ]; then
    forge down
    exec "$forge_path" up -c "${FORGE_SERVICES:-services.yml}"
  fi
  exec "$forge_path" restart "$2" "${@:3}"
  ;;
-l)
  [ $# -ge 2 ] || usage
  exec "$forge_path" logs "$2" --tail "${3:-100}" "${@:4}"
  ;;
-s)
  [ $# -ge 3 ] || usage
  exec "$forge_path" scale "$2" "$3" "${@:4}"
  ;;
"") exec "$forge_path" incident list --open ;;
*) usage ;;
esac
