#!/usr/bin/env bash
# scale-policy.sh --configure SERVICE [--min N] [--max N] [--target-cpu PERCENT]
#                 [--scale-down-below PERCENT] [--cooldown SECONDS] | --remove SERVICE
# Set or remove a service's autoscaling policy (forge autoscale policy).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
--configure)
  [ $# -ge 2 ] || usage
  exec "$forge_path" autoscale policy "${@:2}"
  ;;
--remove)
  [ $# -ge 2 ] || usage
  exec "$forge_path" autoscale policy "$2" --remove "${@:3}"
  ;;
*) usage ;;
esac
