#!/usr/bin/env bash
# smoke-test.sh: initialize, list and call a tool through the gateway (forge smoke-test).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" smoke-test "$@"
