#!/usr/bin/env bash
# verify-recovery.sh: after a recovery, every health check and a smoke test (forge health, forge smoke-test).
. "$(dirname "$0")/lib.sh"
forge health "$@"
exec "$forge_path" smoke-test
