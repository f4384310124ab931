#!/usr/bin/env bash
# security-isolate.sh --upstream NAME | --token-id ID | --user EMAIL [--reason TEXT]: cut it off
# at once (forge security isolate). An upstream is cut off by the gateway process that handles
# the change; when a manager runs the stack, the gateway replicas are then replaced one at a
# time (forge restart gateway, no failed request) so that every one of them drops it.
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || usage
forge security isolate "$@"
if [[ " $* " == *" --upstream "* ]] && forge ps >/dev/null 2>&1; then
  echo "security-isolate.sh: replacing the gateway replicas so that each drops the upstream" >&2
  forge restart gateway >/dev/null
fi
