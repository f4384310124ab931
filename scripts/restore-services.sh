#!/usr/bin/env bash
# restore-services.sh: restart every service that is not running and healthy (forge incident recover --all).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" incident recover "$@"
