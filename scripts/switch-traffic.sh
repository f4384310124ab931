#!/usr/bin/env bash
# switch-traffic.sh: send live traffic to the new colour, failing no request (forge bluegreen switch).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" bluegreen switch "$@"
