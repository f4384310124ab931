#!/usr/bin/env bash
# backup-verify-restore.sh [ID]: restore into a scratch place and compare (forge backup verify-restore).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" backup verify-restore "${1:-latest}" "${@:2}"
