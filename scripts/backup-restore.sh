#!/usr/bin/env bash
# backup-restore.sh --backup-id ID [--force]: restore a backup (forge backup restore). A safety
# backup of the current state is taken first; refused while the gateway runs unless --force.
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --backup-id ] && [ $# -ge 2 ] || usage
exec "$forge_path" backup restore "$2" "${@:3}"
