#!/usr/bin/env bash
# verify-recovery.sh: after a recovery, every health check and a smoke test (forge health, forge smoke-test).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
forge health "$@"
exec "$forge_path" smoke-test
