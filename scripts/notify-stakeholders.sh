#!/usr/bin/env bash
# notify-stakeholders.sh ID [TEXT]: send an incident's state (and TEXT) to the configured
# webhooks (forge incident notify).
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || usage
exec "$forge_path" incident notify "$@"
