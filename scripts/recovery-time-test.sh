#!/usr/bin/env bash
# recovery-time-test.sh: measure the recovery time of the drill (forge dr test).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" dr test "$@"
