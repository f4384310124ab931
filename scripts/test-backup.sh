#!/usr/bin/env bash
# test-backup.sh [ID]: restore the latest (or given) backup into a scratch place and compare it (forge backup verify-restore).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" backup verify-restore "${1:-latest}" "${@:2}"
