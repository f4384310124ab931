# Shared helpers for the integration tests (sourced). Every process a test starts is recorded
# and stopped by its pid when the test exits; everything listens on 127.0.0.1 only.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
npm_dir=$(cd "$here/../npm" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/forge-it.XXXXXX")
pids=()

cleanup() {
  local status=$?
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
  gateway_port=$(port_of "$(wait_for_line gateway 'listening on')")
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
