# Shared helpers for the integration tests (sourced). Every process a test starts is recorded
# and stopped by its pid when the test exits; everything listens on 127.0.0.1 only.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
npm_dir=$(cd "$here/../npm" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/forge-it.XXXXXX")
pids=()

cleanup() {
  local status=$?
  # A subshell (e.g. a failing $(wait_for_line ...)) inherits this trap: only the test cleans up.
  [ "$BASHPID" = "$$" ] || exit $status
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ $status -ne 0 ]; then
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }; done
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

require_npm_tools() {
  [ -d "$npm_dir/node_modules/@modelcontextprotocol/sdk" ] ||
    fail "npm test tools are missing: run tools/install-deps.sh (npm ci in test/npm)"
}

# start NAME CMD...: runs CMD in the background, logging to $work/NAME.log.
start() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}

# wait_for_line NAME TEXT [SECONDS]: waits until NAME's log holds TEXT; prints that line.
wait_for_line() {
  local name=$1 text=$2 limit=${3:-20}
  for _ in $(seq $((limit * 10))); do
    if grep -q -- "$text" "$work/$name.log" 2>/dev/null; then
      grep -m1 -- "$text" "$work/$name.log"
      return 0
    fi
    sleep 0.1
  done
  fail "$name did not print '$text' within ${limit}s"
}

# port_of LINE: the port of the first http://127.0.0.1:PORT in LINE.
port_of() { sed -E 's#.*http://127\.0\.0\.1:([0-9]+).*#\1#' <<<"$1"; }

# start_gateway CONFIG: starts forge gateway on a free port; sets $gateway_port.
start_gateway() {
  start gateway "$FORGE" gateway --config "$1" --server-port 0 --data-dir "$work/data" \
    --log-level debug --log-access false
  wait_for_line gateway 'listening on' >/dev/null
  gateway_port=$(port_of "$(grep -m1 'listening on' "$work/gateway.log")")
}

# sdk ARGS...: runs the SDK test client; prints its JSON.
sdk() { node "$npm_dir/sdk-client.mjs" --timeout 30000 "$@"; }

# check JSON_FILE JS_EXPRESSION MESSAGE: fails unless the expression (over `r`) is true.
check() {
  node -e "
    const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
    if (!(${2})) { console.error(JSON.stringify(r, null, 1).slice(0, 4000)); process.exit(1); }
  " "$1" || fail "$3"
  echo "ok: $3"
}

# start_on_free_port NAME READY_TEXT CMD...: for servers that take their port from $PORT. Picks a
# port at random in 20000-31999 (below the ephemeral range), runs `env PORT=<port> CMD...` like
# `start`, and waits for READY_TEXT in NAME's log; if the process exits first (port taken), tries
# another port. Sets $free_port.
start_on_free_port() {
  local name=$1 ready=$2 attempt pid
  shift 2
  for attempt in $(seq 20); do
    free_port=$((20000 + RANDOM % 12000))
    start "$name" env PORT="$free_port" "$@"
    pid=${pids[-1]}
    for _ in $(seq 200); do
      grep -q -- "$ready" "$work/$name.log" 2>/dev/null && return 0
      grep -q -E 'EADDRINUSE|already in use' "$work/$name.log" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    grep -q -E 'EADDRINUSE|already in use' "$work/$name.log" || kill -0 "$pid" 2>/dev/null ||
      fail "$name exited before printing '$ready'"
    grep -q -E 'EADDRINUSE|already in use' "$work/$name.log" ||
      fail "$name did not print '$ready' within 20s"
    kill -TERM "$pid" 2>/dev/null || true
    mv "$work/$name.log" "$work/$name.try$attempt.log"
  done
  fail "$name found no free port in 20 attempts"
}

# start_named_gateway NAME CONFIG: like start_gateway, with its log in $work/NAME.log (several
# gateways in one test); sets $gateway_port.
start_named_gateway() {
  start "$1" "$FORGE" gateway --config "$2" --server-port 0 --data-dir "$work/data-$1" \
    --log-level debug --log-access false
  wait_for_line "$1" 'listening on' >/dev/null
  gateway_port=$(port_of "$(grep -m1 'listening on' "$work/$1.log")")
}

# now_ms: the wall clock in milliseconds.
now_ms() { date +%s%3N; }

# forget_pid PID: drops PID from the processes stopped at exit (once it has been waited for).
forget_pid() {
  local p kept=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

# rpc_start OUT BODY [SECONDS]: POSTs the JSON-RPC BODY to /rpc of the gateway on $gateway_port
# in the background (curl gives up after SECONDS, default 30); rpc_finish OUT waits for it and
# writes to OUT a JSON object for `check`: {status (HTTP, 0 if none), start, end (ms clock),
# ms (duration), text (raw body), body (parsed, or null)}. rpc OUT BODY [SECONDS] does both.
rpc_start() {
  local out=$1 body=$2 limit=${3:-30}
  now_ms >"$out.start"
  curl -sS -m "$limit" -H 'Content-Type: application/json' -d "$body" -o "$out.body" \
    -w '%{http_code} %{time_total}' "http://127.0.0.1:$gateway_port/rpc" >"$out.meta" 2>"$out.err" &
  pids+=($!)
  echo $! >"$out.pid"
}
rpc_finish() {
  local out=$1 pid
  pid=$(cat "$out.pid")
  wait "$pid" || true
  forget_pid "$pid"
  node -e '
    const fs = require("fs");
    const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    const out = process.argv[1];
    const [status, seconds] = read(out + ".meta").trim().split(/\s+/);
    const start = Number(read(out + ".start"));
    const ms = Math.round(Number(seconds || 0) * 1000);
    const text = read(out + ".body");
    let body = null;
    try { body = JSON.parse(text); } catch {}
    process.stdout.write(JSON.stringify({ status: Number(status) || 0, start, end: start + ms, ms,
      text, body }));
  ' "$out" >"$out.json"
  mv "$out.json" "$out"
}
rpc() {
  rpc_start "$@"
  rpc_finish "$1"
}

# pids_of NAME TEXT: the pids in NAME's log lines "... TEXT (pid N)", one per line, in order.
pids_of() { grep -- "$2" "$work/$1.log" | sed -nE 's/.*\(pid ([0-9]+)\).*/\1/p'; }
