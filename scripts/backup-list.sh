#!/usr/bin/env bash
# backup-list.sh: the backups, newest first (forge backup list).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" backup list "$@"
