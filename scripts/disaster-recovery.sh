#!/usr/bin/env bash
# disaster-recovery.sh --backup-id ID|latest [--services services.yml]: recover the stack:
# stop it, restore the backup (forge backup restore), start it again (forge up), and verify
# (forge health, forge smoke-test).
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --backup-id ] && [ $# -ge 2 ] || usage
id=$2
services=${FORGE_SERVICES:-services.yml}
[ "${3:-}" = --services ] && services=${4:?--services needs a file}
forge down
forge backup restore "$id"
forge up -c "$services"
forge health
exec "$forge_path" smoke-test
