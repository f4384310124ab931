#!/usr/bin/env bash
# `forge translate` (one stdio server for many HTTP clients) and `forge wrapper` (a stdio client
# relayed to an HTTP endpoint), driven by the MCP SDK client.
#   translate_wrapper_test.sh FORGE_BINARY FIXTURE_BINARY
FORGE=$1
FIXTURE=$2
source "$(dirname "$0")/lib.sh"
require_npm_tools

start translate "$FORGE" translate --stdio "$FIXTURE --stdio" --port 0
port=$(port_of "$(wait_for_line translate 'listening on')")
url=http://127.0.0.1:$port

# Two clients at once over Streamable HTTP and one over SSE share the one fixture process.
sdk --url "$url/mcp" list-tools call add '{"a":2,"b":3}' >"$work/a.json" &
first=$!
sdk --url "$url/mcp" call echo '{"message":"second"}' >"$work/b.json"
wait $first
sdk --url "$url/sse" --transport sse list-tools >"$work/sse.json"
check "$work/a.json" 'r["list-tools"].names.includes("test_simple_text") && r["list-tools"].names.includes("add")' \
  "translate lists the server's tools under their own names"
check "$work/a.json" 'r["call:add"].result.content[0].text === "5"' "translate relays a call"
check "$work/b.json" 'r["call:echo"].result.content[0].text === "second"' "a second client is served concurrently"
check "$work/sse.json" 'r["list-tools"].names.includes("add")' "translate serves HTTP+SSE clients"
processes=$(grep -c "started '" "$work/translate.log")
[ "$processes" -eq 1 ] || fail "translate started $processes server processes, expected one"
echo "ok: one upstream process for every client"

# The wrapper: a stdio client reaching the HTTP endpoint, with progress and sampling relayed.
sdk --stdio "$FORGE wrapper --url $url/mcp" sampling-reply "from the client" list-tools \
  --progress call test_tool_with_progress '{}' call test_sampling '{"prompt":"p"}' >"$work/w.json"
check "$work/w.json" 'r["list-tools"].names.includes("test_sampling")' "wrapper lists tools"
check "$work/w.json" 'r["call:test_tool_with_progress"].progress.length === 3' \
  "wrapper relays every progress notification"
check "$work/w.json" 'r["call:test_sampling"].result.content[0].text === "LLM response: from the client"' \
  "wrapper relays a sampling request to the stdio client and its answer back"
