#!/usr/bin/env bash
# security-incident.sh --respond [TITLE]: open a CRITICAL security incident, attach the
# anomalies found in the audit trail and the stack's diagnostics (forge incident open, forge
# security anomalies, forge incident assess). Then isolate with security-isolate.sh.
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --respond ] || usage
id=$(forge incident open --severity CRITICAL --title "${2:-security incident}" --json |
  sed -nE 's/.*"id" *: *"([^"]+)".*/\1/p' | head -n1)
[ -n "$id" ] || { echo "security-incident.sh: the incident could not be opened" >&2; exit 1; }
forge security anomalies || true
forge incident assess "$id"
echo "incident $id is open; next: security-isolate.sh, security-forensics.sh"
