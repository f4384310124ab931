#!/usr/bin/env bash
# query-optimization.sh: table sizes, then VACUUM/ANALYZE of the database (forge db stats, forge db vacuum).
. "$(dirname "$0")/lib.sh"
forge db stats "$@"
exec "$forge_path" db vacuum "$@"
