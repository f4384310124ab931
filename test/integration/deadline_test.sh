#!/usr/bin/env bash
# Per-upstream call deadline and concurrency limit: the fixture behind the gateway with
# call_timeout 1s and max_concurrency 1.
#  - a `slow` call of 5000 ms gets -32001 within ~2 s, naming the upstream and the deadline;
#  - concurrent calls are queued, not refused: they run one after the other;
#  - two concurrent `slow` 600 ms calls both succeed (the second one waits ~600 ms for the first,
#    then runs 600 ms: it finishes after ~1.2 s).
#   deadline_test.sh FORGE_BINARY FIXTURE_BINARY
FORGE=$1
FIXTURE=$2
source "$(dirname "$0")/lib.sh"
require_npm_tools

cat >"$work/forge.yaml" <<YAML
upstreams:
  - name: fixture
    transport: stdio
    command: $FIXTURE
    args: ["--stdio"]
    call_timeout: 1s
    max_concurrency: 1
YAML
start_gateway "$work/forge.yaml"
wait_for_line gateway 'upstream fixture: ready' >/dev/null

slow() { # ID MS: the JSON-RPC body of a fixture__slow call
  echo "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"tools/call\",\"params\":{\"name\":\"fixture__slow\",\"arguments\":{\"ms\":$2}}}"
}
ms_of() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).ms)' "$1"; }

# Fill the tool cache first: name lookups would otherwise queue behind the calls (limit 1).
rpc "$work/list.json" '{"jsonrpc":"2.0","id":0,"method":"tools/list"}'
check "$work/list.json" 'r.body.result.tools.some((t) => t.name === "fixture__slow")' "fixture__slow is listed"

# ---- the deadline ------------------------------------------------------------------------------
rpc "$work/late.json" "$(slow 1 5000)" 10
check "$work/late.json" 'r.status === 200 && r.body && r.body.id === 1 && r.body.error && r.body.error.code === -32001' \
  "a 5000 ms call past the 1 s call_timeout gets -32001"
check "$work/late.json" '/fixture/.test(r.body.error.message) && /1000 ?ms|1 ?s\b|deadline|timeout|timed out|within/i.test(r.body.error.message)' \
  "the error names the upstream and the deadline: $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).body?.error?.message)' "$work/late.json")"
check "$work/late.json" 'r.ms >= 900 && r.ms < 2000' "it comes after the deadline, not the call: $(ms_of "$work/late.json") ms"

# The SDK client over /mcp sees the same error code.
sdk --url "http://127.0.0.1:$gateway_port/mcp" call fixture__slow '{"ms":5000}' call fixture__add '{"a":2,"b":3}' \
  >"$work/late-mcp.json"
check "$work/late-mcp.json" 'r["call:fixture__slow"].error && r["call:fixture__slow"].error.code === -32001' \
  "/mcp: the late call gets -32001"
check "$work/late-mcp.json" 'r["call:fixture__add"].result.content[0].text === "5"' \
  "/mcp: the upstream serves the next call at once (the timed-out call freed its slot)"

# ---- the concurrency limit: queued, not refused ---------------------------------------------
# Two 400 ms calls at once: both fit the deadline even one after the other.
rpc_start "$work/a.json" "$(slow 2 400)" 10
rpc_start "$work/b.json" "$(slow 3 400)" 10
rpc_finish "$work/a.json"
rpc_finish "$work/b.json"
for f in a b; do
  check "$work/$f.json" 'r.body && r.body.result && r.body.result.content[0].text === "done"' \
    "concurrent 400 ms call $f succeeds"
done
check "$work/a.json" "(() => {
    const b = JSON.parse(require('fs').readFileSync('$work/b.json', 'utf8'));
    const [first, second] = [r, b].sort((x, y) => x.end - y.end);
    return first.ms >= 350 && second.end - Math.min(r.start, b.start) >= 750;
  })()" "max_concurrency 1 runs them one after the other ($(ms_of "$work/a.json") ms and $(ms_of "$work/b.json") ms)"

# Two 600 ms calls at once: the second waits ~600 ms in the queue, then runs 600 ms. The deadline
# is for the upstream's answer, so the wait in Forge's own queue must not use it up.
rpc_start "$work/c.json" "$(slow 4 600)" 10
rpc_start "$work/d.json" "$(slow 5 600)" 10
rpc_finish "$work/c.json"
rpc_finish "$work/d.json"
check "$work/c.json" "(() => {
    const d = JSON.parse(require('fs').readFileSync('$work/d.json', 'utf8'));
    return [r, d].every((x) => x.body && x.body.result && x.body.result.content[0].text === 'done');
  })()" "both concurrent 600 ms calls succeed: $(cat "$work/c.json.body") / $(cat "$work/d.json.body")"
check "$work/c.json" "(() => {
    const d = JSON.parse(require('fs').readFileSync('$work/d.json', 'utf8'));
    const [first, second] = [r, d].sort((x, y) => x.end - y.end);
    return first.ms >= 550 && second.end - Math.min(r.start, d.start) >= 1100 && second.ms < 5000;
  })()" "the second ran after the first: $(ms_of "$work/c.json") ms and $(ms_of "$work/d.json") ms"
