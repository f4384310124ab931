#!/usr/bin/env bash
# Real npm MCP servers behind one gateway, driven by the MCP SDK client (sdk-client.mjs):
# server-everything over stdio and over Streamable HTTP, server-memory over stdio, and the forge
# fixture over stdio paging its lists 3 at a time. The gateway pages by 5, so the client pages
# too. Asserts aggregation (counts, prefixed names, pages), a call on each upstream, sampling,
# progress, the unknown-tool error and the legacy SSE endpoint.
#   sdk_gateway_test.sh FORGE_BINARY FIXTURE_BINARY
FORGE=$1
FIXTURE=$2
source "$(dirname "$0")/lib.sh"
require_npm_tools
nm=$npm_dir/node_modules/@modelcontextprotocol

# server-everything over Streamable HTTP, on a free port, bound to loopback.
start_on_free_port everything-http 'listening on port' \
  NODE_OPTIONS="--require $npm_dir/bind-localhost.cjs" \
  node "$nm/server-everything/dist/index.js" streamableHttp
everything_port=$free_port

cat >"$work/forge.yaml" <<YAML
gateway:
  page_size: 5
upstreams:
  - name: everything
    transport: stdio
    command: node
    args: ["$nm/server-everything/dist/index.js", "stdio"]
  - name: everything-http
    transport: streamable-http
    url: http://127.0.0.1:$everything_port/mcp
  - name: memory
    transport: stdio
    command: node
    args: ["$nm/server-memory/dist/index.js"]
    env:
      MEMORY_FILE_PATH: $work/memory.jsonl
  - name: fixture
    transport: stdio
    command: $FIXTURE
    args: ["--stdio", "--page-size", "3"]
YAML
start_gateway "$work/forge.yaml"
for u in everything everything-http memory fixture; do
  wait_for_line gateway "upstream $u: ready" 30 >/dev/null
done
base=http://127.0.0.1:$gateway_port

# The fixture really pages: its tools come 3 at a time when it is asked directly.
sdk --stdio "$FIXTURE --stdio --page-size 3" list-tools >"$work/fixture-direct.json"
check "$work/fixture-direct.json" \
  'r["list-tools"].count > 6 && r["list-tools"].pages === Math.ceil(r["list-tools"].count / 3)' \
  "the fixture alone pages its tools 3 at a time"
fixture_tools=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))["list-tools"].count)' \
  "$work/fixture-direct.json")

# Each upstream alone, under its own names: the counts the aggregate must add up to.
total=0
for u in everything everything-http memory fixture; do
  sdk --url "$base/upstreams/$u/mcp" list-tools >"$work/alone-$u.json"
  check "$work/alone-$u.json" \
    'r["list-tools"].count > 0 && r["list-tools"].names.every((n) => !n.includes("__"))' \
    "/upstreams/$u/mcp lists its tools under their own names"
  n=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))["list-tools"].count)' \
    "$work/alone-$u.json")
  echo "   $u: $n tools"
  total=$((total + n))
done
check "$work/alone-fixture.json" \
  "r['list-tools'].count === $fixture_tools && r['list-tools'].pages === Math.ceil($fixture_tools / 5)" \
  "the gateway followed every upstream page of the fixture ($fixture_tools tools, served 5 a page)"
check "$work/alone-everything.json" \
  '["echo", "trigger-sampling-request", "trigger-long-running-operation"].every((t) => r["list-tools"].names.includes(t))' \
  "server-everything (stdio) offers echo, sampling and progress tools"
check "$work/alone-everything-http.json" \
  '["echo", "trigger-sampling-request", "trigger-long-running-operation"].every((t) => r["list-tools"].names.includes(t))' \
  "server-everything (HTTP) offers echo, sampling and progress tools"

# Everything at /mcp on one session.
sdk --url "$base/mcp" sampling-reply "sampled by the forge test" \
  list-tools \
  call everything__echo '{"message":"hello over stdio"}' \
  call everything-http__echo '{"message":"hello over http"}' \
  call memory__create_entities '{"entities":[{"name":"forge-it","entityType":"test","observations":["made through the gateway"]}]}' \
  call memory__read_graph '{}' \
  call fixture__add '{"a":2,"b":3}' \
  call everything__trigger-sampling-request '{"prompt":"sample over stdio","maxTokens":20}' \
  call everything-http__trigger-sampling-request '{"prompt":"sample over http","maxTokens":20}' \
  call fixture__test_sampling '{"prompt":"sample from the fixture"}' \
  --progress call everything__trigger-long-running-operation '{"duration":1,"steps":4}' \
  --progress call everything-http__trigger-long-running-operation '{"duration":1,"steps":3}' \
  --progress call fixture__test_tool_with_progress '{}' \
  call fixture__no_such_tool '{}' \
  call nowhere__no_such_tool '{}' \
  >"$work/mcp.json"

check "$work/mcp.json" 'r.initialize.serverInfo && r.initialize.serverInfo.name && r.initialize.sessionId' \
  "/mcp initializes a session"
check "$work/mcp.json" "r['list-tools'].count === $total" \
  "/mcp lists every upstream's tools ($total = sum of the upstreams alone)"
check "$work/mcp.json" "r['list-tools'].pages === Math.ceil($total / 5) && r['list-tools'].pages >= 3" \
  "the client had to page (gateway.page_size 5)"
check "$work/mcp.json" 'new Set(r["list-tools"].names).size === r["list-tools"].count' \
  "no tool name is listed twice across pages"
check "$work/mcp.json" \
  'r["list-tools"].names.every((n) => /^(everything|everything-http|memory|fixture)__[^_]/.test(n))' \
  "every name is prefixed <upstream>__"
check "$work/mcp.json" \
  '["everything", "everything-http", "memory", "fixture"].every((u) => r["list-tools"].names.some((n) => n.startsWith(u + "__")))' \
  "every upstream contributes tools"
for u in everything everything-http memory fixture; do
  check "$work/mcp.json" "(() => {
      const alone = JSON.parse(require('fs').readFileSync('$work/alone-$u.json', 'utf8'))['list-tools'].names;
      const mine = r['list-tools'].names.filter((n) => n.startsWith('${u}__')).map((n) => n.slice('${u}__'.length));
      return JSON.stringify(mine.sort()) === JSON.stringify(alone.slice().sort());
    })()" "the aggregate holds exactly $u's own tools, prefixed"
done

check "$work/mcp.json" 'r["call:everything__echo"].result.content[0].text === "Echo: hello over stdio"' \
  "everything__echo over stdio"
check "$work/mcp.json" 'r["call:everything-http__echo"].result.content[0].text === "Echo: hello over http"' \
  "everything-http__echo over Streamable HTTP"
check "$work/mcp.json" '!r["call:memory__create_entities"].error && !r["call:memory__create_entities"].result.isError' \
  "memory__create_entities"
check "$work/mcp.json" 'r["call:memory__read_graph"].result.content[0].text.includes("made through the gateway")' \
  "memory__read_graph returns the entity just created"
grep -q forge-it "$work/memory.jsonl" || fail "server-memory did not write MEMORY_FILE_PATH"
echo "ok: server-memory wrote its file (env passed to the upstream)"
check "$work/mcp.json" 'r["call:fixture__add"].result.content[0].text === "5"' "fixture__add 2+3 = 5"

check "$work/mcp.json" \
  'r["call:everything__trigger-sampling-request"].result.content[0].text.includes("sampled by the forge test")' \
  "sampling round trip through the stdio upstream"
check "$work/mcp.json" \
  'r["call:everything-http__trigger-sampling-request"].result.content[0].text.includes("sampled by the forge test")' \
  "sampling round trip through the Streamable HTTP upstream"
check "$work/mcp.json" \
  'r["call:fixture__test_sampling"].result.content[0].text === "LLM response: sampled by the forge test"' \
  "sampling round trip through the fixture"
check "$work/mcp.json" '(() => {
    const texts = r["sampling-reply"].requests.map((q) => JSON.stringify(q.messages));
    return r["sampling-reply"].requests.length === 3 &&
      ["sample over stdio", "sample over http", "sample from the fixture"].every((p) => texts.some((t) => t.includes(p)));
  })()' "the client answered exactly the three sampling requests, with the upstreams' prompts"

# Progress: every step, in order, with the client's own token (the gateway's is swapped back).
progress_ok() { # CALL STEPS
  echo "(() => { const p = r['call:$1'].progress;
    return !r['call:$1'].error && p.length === $2 &&
      p.every((x, i) => x.progressToken === p[0].progressToken && typeof x.progressToken === 'number' &&
                        (i === 0 || x.progress > p[i - 1].progress)); })()"
}
check "$work/mcp.json" "$(progress_ok everything__trigger-long-running-operation 4)" \
  "4 progress notifications from everything over stdio, in order, with the client's token"
check "$work/mcp.json" "$(progress_ok everything-http__trigger-long-running-operation 3)" \
  "3 progress notifications from everything over HTTP, in order, with the client's token"
check "$work/mcp.json" "$(progress_ok fixture__test_tool_with_progress 3)" \
  "3 progress notifications from the fixture, in order, with the client's token"
check "$work/mcp.json" '[
    "everything__trigger-long-running-operation", "everything-http__trigger-long-running-operation",
    "fixture__test_tool_with_progress"].every((c, i, all) => all.every((d) => c === d ||
      r["call:" + c].progress[0].progressToken !== r["call:" + d].progress[0].progressToken))' \
  "each call's progress carries its own token"

check "$work/mcp.json" \
  'r["call:fixture__no_such_tool"].error && r["call:fixture__no_such_tool"].error.code === -32602 && r["call:fixture__no_such_tool"].error.message.includes("fixture__no_such_tool")' \
  "an unknown tool of a known upstream: -32602 naming the tool"
check "$work/mcp.json" \
  'r["call:nowhere__no_such_tool"].error && r["call:nowhere__no_such_tool"].error.code === -32602 && r["call:nowhere__no_such_tool"].error.message.includes("nowhere__no_such_tool")' \
  "a tool of an unknown upstream: -32602 naming the tool"
check "$work/mcp.json" 'r.errors.length === 0' "no protocol errors on the /mcp session"

# The legacy HTTP+SSE endpoint serves the same aggregate.
sdk --url "$base/sse" --transport sse list-tools call fixture__add '{"a":20,"b":22}' >"$work/sse.json"
check "$work/sse.json" "r['list-tools'].count === $total && r['list-tools'].pages === Math.ceil($total / 5)" \
  "/sse lists every upstream's tools, paged"
check "$work/sse.json" 'r["call:fixture__add"].result.content[0].text === "42"' "/sse calls a tool"

# The upstreams are still the processes the gateway started (nothing crashed and restarted).
for u in everything memory fixture; do
  [ "$(pids_of gateway "upstream $u: started" | wc -l)" -eq 1 ] || fail "upstream $u was restarted"
done
echo "ok: no stdio upstream was restarted"
