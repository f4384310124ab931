#!/usr/bin/env bash
# debug-report.sh [-o FILE]: the debug bundle (forge debug bundle).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" debug bundle "$@"
