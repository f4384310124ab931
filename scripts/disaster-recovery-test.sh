#!/usr/bin/env bash
# disaster-recovery-test.sh: restore the latest backup into a scratch stack, verify it, report the recovery time (forge dr test).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" dr test "$@"
