#!/usr/bin/env bash
# backup-create.sh: back up the database and the secrets, with a manifest and checksums (forge backup create).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" backup create "$@"
