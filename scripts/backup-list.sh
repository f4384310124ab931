#!/usr/bin/env bash
# backup-list.sh: the backups, newest first (forge backup list).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" backup list "$@"
