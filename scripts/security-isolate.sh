#!/usr/bin/env bash
# security-isolate.sh --upstream NAME | --token-id ID | --user EMAIL [--reason TEXT]: cut it off at once (forge security isolate).
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || usage
exec "$forge_path" security isolate "$@"
