#!/usr/bin/env bash
# security-monitor.sh --auth-failures | --anomaly-detection | --access-logs   (forge security)
#   --auth-failures      failed logins and denied requests, by actor and address
#   --anomaly-detection  brute force, privilege changes, unusual access, with evidence
#   --access-logs        who reached what
# Further arguments go to forge security (e.g. --since 24h, --json).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
--auth-failures) exec "$forge_path" security auth-failures "${@:2}" ;;
--anomaly-detection) exec "$forge_path" security anomalies "${@:2}" ;;
--access-logs) exec "$forge_path" security access-log "${@:2}" ;;
*) usage ;;
esac
