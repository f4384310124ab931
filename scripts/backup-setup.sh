#!/usr/bin/env bash
# backup-setup.sh [--every 6h] [--keep 28]: schedule backups (forge backup schedule).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" backup schedule "$@"
