#!/usr/bin/env bash
# Server-to-client requests with several clients in flight on one stdio upstream. Over stdio
# nothing says which client a sampling request is for: with a shared upstream session Forge
# refuses it with a clear error when calls of two clients are in flight; with
# `session_mode: per-client` each client has its own upstream process and gets its own request.
#   per_client_test.sh FORGE_BINARY FIXTURE_BINARY
FORGE=$1
FIXTURE=$2
source "$(dirname "$0")/lib.sh"
require_npm_tools

# run_pair MODE: client A keeps a slow call in flight while client B asks for sampling.
run_pair() {
  local mode=$1
  cat >"$work/$mode.yaml" <<YAML
upstreams:
  - name: fixture
    command: $FIXTURE
    args: ["--stdio"]
    session_mode: $mode
YAML
  start "gateway-$mode" "$FORGE" gateway --config "$work/$mode.yaml" --server-port 0 \
    --data-dir "$work/data-$mode" --log-access false
  local port
  port=$(port_of "$(wait_for_line "gateway-$mode" 'listening on')")
  sdk --url "http://127.0.0.1:$port/mcp" sampling-reply "for A" call fixture__slow '{"ms":3000}' \
    >"$work/$mode-a.json" &
  local a=$!
  sleep 1
  sdk --url "http://127.0.0.1:$port/mcp" sampling-reply "for B" call fixture__test_sampling \
    '{"prompt":"p"}' >"$work/$mode-b.json"
  wait $a
}

run_pair shared
check "$work/shared-b.json" \
  'JSON.stringify(r["call:fixture__test_sampling"]).includes("cannot tell which client")' \
  "shared session: an unattributable sampling request is refused with a clear error"
check "$work/shared-a.json" 'r["call:fixture__slow"].result.content[0].text === "done"' \
  "shared session: the other client's call is unaffected"

run_pair per-client
check "$work/per-client-b.json" \
  'r["call:fixture__test_sampling"].result.content[0].text === "LLM response: for B"' \
  "per-client sessions: the sampling request reaches the client whose call caused it"
check "$work/per-client-a.json" 'r["sampling-reply"].requests.length === 0' \
  "per-client sessions: the other client is not asked"
started=$(grep -c "upstream fixture#.*started" "$work/gateway-per-client.log" || true)
[ "$started" -eq 2 ] || fail "expected one upstream process per client, saw $started"
echo "ok: one upstream process per client session"
