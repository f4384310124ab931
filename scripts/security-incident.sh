#!/usr/bin/env bash
# security-incident.sh --respond [TITLE]: open a CRITICAL security incident at level 2 (the
# guide's immediate escalation for a breach), then list the anomalies found in the audit trail
# and attach the stack's diagnostics (forge incident open, forge security anomalies,
# forge incident assess). Then isolate with security-isolate.sh.
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --respond ] || usage
id=$(forge incident open --severity CRITICAL --level 2 --title "${2:-security incident}")
[ -n "$id" ] || { echo "security-incident.sh: the incident could not be opened" >&2; exit 1; }
forge security anomalies || true
forge incident assess "$id" || true
echo "incident $id is open; next: security-isolate.sh, security-forensics.sh"
