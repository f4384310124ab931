#!/usr/bin/env bash
# auto-scale.sh --enable [--interval SECONDS]: run the autoscaler in the foreground: sample each
# service with a policy, scale it, record why (forge autoscale run). Set policies first with
# scale-policy.sh --configure. --status shows the policies and the last changes.
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
--enable) exec "$forge_path" autoscale run "${@:2}" ;;
--status) exec "$forge_path" autoscale status "${@:2}" ;;
*) usage ;;
esac
