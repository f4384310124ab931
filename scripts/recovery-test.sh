#!/usr/bin/env bash
# recovery-test.sh: the disaster recovery drill (forge dr test).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" dr test "$@"
