#!/usr/bin/env bash
# The storage test suites on PostgreSQL: starts a throwaway server (tools/pg-test-server.sh),
# points FORGE_TEST_POSTGRES_URL at it and runs every test named .../postgresql in the unit
# test binary. Fails unless they pass and at least one ran.
#   test/integration/postgres_storage_test.sh UNIT_TEST_BINARY
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 UNIT_TEST_BINARY" >&2; exit 2; }
binary=$1
[ -x "$binary" ] || { echo "FAIL: $binary is not an executable" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
server="$root/tools/pg-test-server.sh"

cluster=$(mktemp -d "${TMPDIR:-/tmp}/forge-pg.XXXXXX")
cleanup() {
  local status=$?
  bash "$server" stop "$cluster" >&2 || status=1
  exit $status
}
trap cleanup EXIT

url=$(bash "$server" start "$cluster")
echo "postgres_storage_test: server at $url"
export FORGE_TEST_POSTGRES_URL=$url

status=0
output=$("$binary" --gtest_filter='*postgresql*' 2>&1) || status=$?
printf '%s\n' "$output"

passed=$(printf '%s\n' "$output" | sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) tests\{0,1\}\..*/\1/p' | tail -n 1)
if [ "$status" -ne 0 ]; then
  echo "FAIL: the PostgreSQL storage tests failed (exit status $status)" >&2
  exit 1
fi
if [ -z "$passed" ] || [ "$passed" -eq 0 ]; then
  echo "FAIL: no PostgreSQL storage test ran (no test name matches *postgresql*)" >&2
  exit 1
fi
echo "postgres_storage_test: $passed PostgreSQL storage tests passed"
