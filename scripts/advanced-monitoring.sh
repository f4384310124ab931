#!/usr/bin/env bash
# advanced-monitoring.sh -c | -m SECONDS | -r | -a   (forge monitor)
#   -c          one check of CPU, memory, disk, response time and error rate against thresholds
#   -m SECONDS  check every SECONDS until interrupted
#   -r          a report over the last hour: the checks plus per-upstream and per-tool figures
#   -a          the open alerts
# Further arguments go to forge monitor (e.g. --cpu-warning 70, --json).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
-c) exec "$forge_path" monitor --check "${@:2}" ;;
-m)
  [ $# -ge 2 ] || usage
  exec "$forge_path" monitor --watch "$2" "${@:3}"
  ;;
-r) exec "$forge_path" monitor --report "${@:2}" ;;
-a) exec "$forge_path" monitor --alerts "${@:2}" ;;
*) usage ;;
esac
