#!/usr/bin/env bash
# test-green.sh: health and MCP checks against the idle colour (forge bluegreen test).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" bluegreen test "$@"
