#!/usr/bin/env bash
# security-isolate.sh --upstream NAME | --token-id ID | --user EMAIL [--reason TEXT]: cut it off
# at once (forge security isolate). The gateway that handles the change drops an upstream at
# once; every other replica sharing the database drops it within gateway.catalog_sync_interval
# (2 s by default), without a restart.
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || usage
forge security isolate "$@"
