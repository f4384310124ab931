#!/usr/bin/env bash
# backup-verify.sh [ID]: checksums and integrity of a backup (default: the latest) (forge backup verify).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" backup verify "${1:-latest}" "${@:2}"
