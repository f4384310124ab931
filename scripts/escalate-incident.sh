#!/usr/bin/env bash
# escalate-incident.sh ID [--level N] | --auto: raise an incident's escalation level (forge incident escalate).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" incident escalate "$@"
