#!/usr/bin/env bash
# failover-test.sh [SERVICE]: replace every replica of a service (default: gateway) one at a
# time while checking that the gateway keeps answering (forge restart, forge smoke-test,
# forge verify).
. "$(dirname "$0")/lib.sh"
svc=${1:-gateway}
forge smoke-test
forge restart "$svc"
forge smoke-test
exec "$forge_path" verify "$svc"
