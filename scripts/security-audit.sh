#!/usr/bin/env bash
# security-audit.sh: the audit trail, filtered (forge security audit).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" security audit "$@"
