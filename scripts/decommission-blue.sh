#!/usr/bin/env bash
# decommission-blue.sh: stop the colour that no longer takes traffic (forge bluegreen decommission).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" bluegreen decommission "$@"
