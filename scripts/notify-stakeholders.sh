#!/usr/bin/env bash
# notify-stakeholders.sh ID TEXT: record an update on an incident's timeline and send it, with
# the incident's state, to the configured webhooks (forge incident note --notify).
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || usage
exec "$forge_path" incident note "$1" "$2" --notify "${@:3}"
