#!/usr/bin/env bash
# growth-analysis.sh: growth of traffic between the halves of the window (forge report trends).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" report trends "$@"
