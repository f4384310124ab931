#!/usr/bin/env bash
# An upstream that dies under load, and one that cannot start.
#  1. The fixture (stdio, call_timeout 30s) is killed with SIGKILL while three `slow` calls are in
#     flight through /rpc: each caller gets a JSON-RPC error naming the upstream at once (not the
#     30 s timeout), the gateway restarts the fixture (new pid) and a new call succeeds.
#  2. A gateway whose second upstream is a command that does not exist still lists the first
#     upstream's tools (/rpc and /mcp) and reports the broken one in _meta["forge/upstreamErrors"],
#     promptly: not after the broken upstream's call_timeout (60 s by default).
#   upstream_crash_test.sh FORGE_BINARY FIXTURE_BINARY
FORGE=$1
FIXTURE=$2
source "$(dirname "$0")/lib.sh"
require_npm_tools

# ---- 1. kill -9 with calls in flight ---------------------------------------------------------
cat >"$work/crash.yaml" <<YAML
upstreams:
  - name: fixture
    transport: stdio
    command: $FIXTURE
    args: ["--stdio"]
    call_timeout: 30s
YAML
start_named_gateway gateway "$work/crash.yaml"
wait_for_line gateway 'upstream fixture: ready' >/dev/null
first_pid=$(pids_of gateway 'upstream fixture: started' | head -n1)
[ -n "$first_pid" ] && kill -0 "$first_pid" || fail "no running fixture pid in the gateway log"
echo "ok: fixture runs as pid $first_pid"

# Fill the tool cache so that the slow calls go straight to the upstream.
rpc "$work/list0.json" '{"jsonrpc":"2.0","id":0,"method":"tools/list"}'
check "$work/list0.json" 'r.body.result.tools.some((t) => t.name === "fixture__slow")' "fixture__slow is listed"
fixture_tools=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).body.result.tools.length)' \
  "$work/list0.json")

for i in 1 2 3; do
  rpc_start "$work/slow$i.json" \
    "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"tools/call\",\"params\":{\"name\":\"fixture__slow\",\"arguments\":{\"ms\":20000}}}" 40
done
sleep 1.5 # the three calls reach the fixture (they take 20 s there)
for i in 1 2 3; do
  if [ -s "$work/slow$i.json.meta" ]; then fail "slow call $i ended before the kill"; fi
done
killed_at=$(now_ms)
kill -9 "$first_pid"
# Meanwhile a list: it must answer (error for the fixture, or the list after the restart).
rpc_start "$work/list-down.json" '{"jsonrpc":"2.0","id":10,"method":"tools/list"}' 15
for i in 1 2 3; do rpc_finish "$work/slow$i.json"; done
rpc_finish "$work/list-down.json"

for i in 1 2 3; do
  check "$work/slow$i.json" "r.status === 200 && r.body && r.body.id === $i && r.body.error && !r.body.result" \
    "in-flight call $i is answered with a JSON-RPC error"
  check "$work/slow$i.json" 'typeof r.body.error.code === "number" && r.body.error.code !== -32001' \
    "call $i's error is not a timeout (code $(node -e 'try{console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).body.error.code)}catch{}' "$work/slow$i.json"))"
  check "$work/slow$i.json" '/fixture/.test(r.body.error.message)' "call $i's error names the upstream"
  check "$work/slow$i.json" "r.end - $killed_at < 3000" "call $i is answered within 3 s of the kill"
done
check "$work/list-down.json" '(() => {
    const res = r.body && r.body.result;
    if (!res) return false;
    const listed = res.tools.some((t) => t.name === "fixture__add");
    const errs = (res._meta && res._meta["forge/upstreamErrors"]) || [];
    return listed || errs.some((e) => e.upstream === "fixture");
  })()' "tools/list while the upstream restarts answers (the tools, or the fixture reported failing)"

# The gateway restarts the fixture: a new pid, initialized again, and calls work.
for _ in $(seq 100); do
  [ "$(pids_of gateway 'upstream fixture: started' | wc -l)" -ge 2 ] && break
  sleep 0.1
done
second_pid=$(pids_of gateway 'upstream fixture: started' | sed -n 2p)
[ -n "$second_pid" ] || fail "the gateway did not restart the fixture within 10 s"
[ "$second_pid" != "$first_pid" ] || fail "the restarted fixture has the old pid"
echo "ok: the gateway restarted the fixture as pid $second_pid"
grep -q 'upstream fixture: connection lost' "$work/gateway.log" || fail "the loss is not logged"
echo "ok: the gateway logged the lost connection"
ok=0
for _ in $(seq 20); do
  rpc "$work/add.json" '{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"fixture__add","arguments":{"a":2,"b":3}}}' 10
  if node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1])); process.exit(r.body && r.body.result ? 0 : 1)' "$work/add.json"; then
    ok=1
    break
  fi
  sleep 0.25
done
[ $ok = 1 ] || fail "no call succeeded within 5 s of the restart: $(cat "$work/add.json")"
check "$work/add.json" 'r.body.result.content[0].text === "5"' "fixture__add 2+3 = 5 after the restart"
[ "$(grep -c 'upstream fixture: ready' "$work/gateway.log")" -ge 2 ] || fail "no second initialize"
echo "ok: the fixture was initialized again"
kill -0 "$second_pid" 2>/dev/null || fail "the new fixture process is not running"
rpc "$work/list1.json" '{"jsonrpc":"2.0","id":21,"method":"tools/list"}' 10
check "$work/list1.json" "r.body.result.tools.length === $fixture_tools && !r.body.result._meta" \
  "tools/list after the restart: all $fixture_tools tools, no upstream errors"

# ---- 2. an upstream that cannot start -------------------------------------------------------
# call_timeout for the broken upstream is left at its default (60s): a list must not wait for it.
cat >"$work/broken.yaml" <<YAML
upstreams:
  - name: fixture
    transport: stdio
    command: $FIXTURE
    args: ["--stdio"]
  - name: broken
    transport: stdio
    command: /nonexistent/binary
YAML
start_named_gateway broken-gateway "$work/broken.yaml"
wait_for_line broken-gateway 'upstream fixture: ready' >/dev/null
wait_for_line broken-gateway "upstream broken: connection lost" >/dev/null
echo "ok: the gateway runs with a broken upstream"

# curl waits past the default call_timeout so that a slow answer is measured, not cut off.
rpc "$work/broken-rpc.json" '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' 75
check "$work/broken-rpc.json" 'r.status === 200 && r.body && r.body.result' "/rpc tools/list answers with a result"
check "$work/broken-rpc.json" \
  "r.body.result.tools.length === $fixture_tools && r.body.result.tools.every((t) => t.name.startsWith('fixture__'))" \
  "/rpc lists the working upstream's $fixture_tools tools"
check "$work/broken-rpc.json" '(() => {
    const errs = r.body.result._meta && r.body.result._meta["forge/upstreamErrors"];
    return Array.isArray(errs) && errs.length === 1 && errs[0].upstream === "broken" &&
      typeof errs[0].error === "string" && errs[0].error.length > 0;
  })()' "/rpc reports the broken upstream in _meta[\"forge/upstreamErrors\"]"
# An upstream that has never started must not hold every aggregated list for its call_timeout
# (60 s by default, which is also the SDK clients' default request timeout).
check "$work/broken-rpc.json" 'r.ms < 10000' \
  "/rpc tools/list answers within 10 s (took $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).ms)' "$work/broken-rpc.json") ms)"

sdk --timeout 20000 --url "http://127.0.0.1:$gateway_port/mcp" \
  list-tools call fixture__add '{"a":1,"b":2}' >"$work/broken-mcp.json"
check "$work/broken-mcp.json" "r['list-tools'].count === $fixture_tools" "/mcp lists the working upstream's tools"
check "$work/broken-mcp.json" 'r["call:fixture__add"].result.content[0].text === "3"' \
  "/mcp calls the working upstream"
