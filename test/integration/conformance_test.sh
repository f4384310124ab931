#!/usr/bin/env bash
# The official MCP conformance suite (active server scenarios, no expected failures) against a
# Forge endpoint that serves the project's fixture server under its own names, with the
# fixture as a stdio upstream or as a Streamable HTTP upstream.
#   conformance_test.sh FORGE_BINARY FIXTURE_BINARY stdio|http
FORGE=$1
FIXTURE=$2
mode=$3
source "$(dirname "$0")/lib.sh"
require_npm_tools

if [ "$mode" = stdio ]; then
  cat >"$work/forge.yaml" <<YAML
upstreams:
  - name: fixture
    transport: stdio
    command: $FIXTURE
    args: ["--stdio"]
YAML
else
  start fixture "$FIXTURE" --port 0
  fixture_port=$(port_of "$(wait_for_line fixture 'listening on')")
  cat >"$work/forge.yaml" <<YAML
upstreams:
  - name: fixture
    transport: streamable-http
    url: http://127.0.0.1:$fixture_port/mcp
YAML
fi
start_gateway "$work/forge.yaml"
CONFORMANCE_OUT_DIR="$work/results" "$npm_dir/run-conformance.sh" \
  "http://127.0.0.1:$gateway_port/upstreams/fixture/mcp"
