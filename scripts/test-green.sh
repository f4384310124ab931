#!/usr/bin/env bash
# test-green.sh: health and MCP checks against the idle colour (forge bluegreen test).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" bluegreen test "$@"
