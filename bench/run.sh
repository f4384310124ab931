#!/usr/bin/env bash
# bench/run.sh: builds Forge in Release and runs every benchmark of docs/PERFORMANCE.md on this
# machine: 127.0.0.1 only, each step bounded in time, writing bench/results/report.md and
# bench/results/report.json.
#
#   bench/run.sh            the full run (about 5 minutes; 1,000,000 calls for the memory check)
#   bench/run.sh --quick    shorter windows and 100,000 calls for the memory check (about 3 minutes)
#
# Options: --build-dir DIR (default build-bench), --out DIR (default bench/results),
#          --no-build (use the binaries already in the build dir),
#          --only LIST (comma-separated step names; see `steps` below).
# Environment: BENCH_CONNECTIONS (closed-loop connections, default 32), BENCH_FIXTURE_THREADS
# (the upstream's I/O threads, default 1), BENCH_FORGE_IO_THREADS (the gateway's
# server.io_threads, default 0: its default, one per core), BENCH_LOADGEN_BATCH (1, the default:
# closed-loop load runs as a batch task, see forge-loadgen --batch; 0: as an ordinary one),
# FORGE_NPM_DIR (where the npm peers are installed, default test/npm).
#
# Every process it starts runs in a process group of its own, and only those groups are stopped
# (on exit too, through the trap).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
out="$root/bench/results"
quick=0
do_build=1
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) do_build=0 ;;
    --build-dir) build=$(realpath -m "$2"); shift ;;
    --out) out=$(realpath -m "$2"); shift ;;
    --only) only="$2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# ---- parameters -------------------------------------------------------------------------------
connections=${BENCH_CONNECTIONS:-32}
fixture_threads=${BENCH_FIXTURE_THREADS:-1}
forge_io_threads=${BENCH_FORGE_IO_THREADS:-0}
closed_loop_flags=()
[ "${BENCH_LOADGEN_BATCH:-1}" = 1 ] && closed_loop_flags=(--batch)
rate=1000              # calls per second of the latency scenarios
rate_connections=16
idle_sessions=10000
if [ "$quick" = 1 ]; then
  warmup=1 duration=4 rate_duration=5 pairs=2 pair_duration=2
  growth_warmup=20000 growth_calls=100000
  cg_warmup=200 cg_calls_a=300 cg_calls_b=1300
  micro_min_time=0.05
else
  warmup=2 duration=10 rate_duration=15 pairs=10 pair_duration=4
  growth_warmup=100000 growth_calls=1000000
  cg_warmup=500 cg_calls_a=1000 cg_calls_b=3000
  micro_min_time=0.5
fi
steps="direct_vs_forge_http forge_stdio supergateway_stdio mcp_proxy_stdio rate_direct rate_forge idle_sessions rss_growth profile micro callgrind"

npm_dir=${FORGE_NPM_DIR:-$root/test/npm}
loadgen="$build/bench/forge-loadgen"
forge="$build/exe/forge"
fixture="$build/exe/forge-fixture"
micro="$build/bench/forge-micro"
clk_tck=$(getconf CLK_TCK)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
wanted() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

# ---- processes --------------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/forge-bench.XXXXXX)
started=()

stop_group() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${started[@]}"; do stop_group "$pid"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: runs CMD in a new process group (setsid execs it: the pid is CMD's), output
# to $tmp/NAME.log; the pid is in $pid.
start() {
  local name=$1
  shift
  setsid "$@" >"$tmp/$name.log" 2>&1 &
  pid=$!
  started+=("$pid")
}

stop_all() {
  local p
  for p in "${started[@]}"; do stop_group "$p"; done
  started=()
}

free_port() { "$loadgen" --free-port; }

# wait_ready URL TOOL [SECONDS]: until one tools/call through URL succeeds.
wait_ready() {
  local url=$1 tool=$2 limit=${3:-30} i
  for i in $(seq 1 $((limit * 4))); do
    if "$loadgen" --url "$url" --tool "$tool" -c 1 --calls 1 --timeout-ms 2000 --setup-timeout 5 \
      >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.25
  done
  log "not ready after ${limit}s: $url"
  return 1
}

cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
# Starts the peak-RSS count (VmHWM) of a process afresh, so that it covers the measured run
# only: Forge's start-up peak (hashing the generated admin password with argon2id) is not traffic.
reset_peak() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# ---- systems under test -----------------------------------------------------------------------
start_fixture_http() {
  fixture_port=$(free_port)
  start fixture "$fixture" --port "$fixture_port" --threads "$fixture_threads"
  fixture_pid=$pid
  fixture_url="http://127.0.0.1:$fixture_port/mcp"
}

# start_forge http|stdio [gateway command prefix...]: a gateway with the fixture as upstream
# "fixture" (over HTTP: the one start_fixture_http started), auth off, a fresh data directory.
start_forge() {
  local kind=$1
  shift
  local dir="$tmp/forge-$kind-$RANDOM"
  mkdir -p "$dir"
  forge_port=$(free_port)
  {
    echo "data_dir: $dir/data"
    echo "auth: {required: false}"
    echo "log: {level: warn, access: false}"
    echo "server: {host: 127.0.0.1, port: $forge_port, io_threads: $forge_io_threads}"
    # Room for the idle-session scenario and the sessions of the warm-up runs.
    echo "transport: {max_sessions: $((idle_sessions + 1000))}"
    echo "upstreams:"
    echo "  - name: fixture"
    if [ "$kind" = http ]; then
      echo "    transport: streamable-http"
      echo "    url: $fixture_url"
    else
      echo "    transport: stdio"
      echo "    command: $fixture"
      echo "    args: [--stdio]"
    fi
  } >"$dir/forge.yaml"
  start "forge-$kind" "$@" "$forge" gateway --config "$dir/forge.yaml"
  forge_pid=$pid
  forge_url="http://127.0.0.1:$forge_port/mcp"
}

start_supergateway() {
  local port
  port=$(free_port)
  start supergateway "$npm_dir/node_modules/.bin/supergateway" --stdio "$fixture --stdio" \
    --outputTransport streamableHttp --stateful --port "$port" --logLevel none
  peer_pid=$pid
  peer_url="http://127.0.0.1:$port/mcp"
}

start_mcp_proxy() {
  local port
  port=$(free_port)
  start mcp-proxy "$npm_dir/node_modules/.bin/mcp-proxy" --host 127.0.0.1 --port "$port" \
    --server stream -- "$fixture" --stdio
  peer_pid=$pid
  peer_url="http://127.0.0.1:$port/mcp"
}

# ---- measurements -----------------------------------------------------------------------------
mkdir -p "$out/scenarios"

# record NAME DESCRIPTION PID LOADGEN_JSON_FILE TICKS_BEFORE TICKS_AFTER [EXTRA_JSON]
record() {
  local name=$1 description=$2 pid=$3 result=$4 t0=$5 t1=$6 extra=${7:-'{}'}
  jq -n --arg name "$name" --arg description "$description" --slurpfile lg "$result" \
    --argjson cpu_ticks "$((t1 - t0))" --argjson clk "$clk_tck" \
    --argjson hwm "$(status_kb "$pid" VmHWM)" --argjson rss "$(status_kb "$pid" VmRSS)" \
    --argjson extra "$extra" '
    ($cpu_ticks / $clk) as $cpu |
    {name: $name, description: $description, loadgen: $lg[0],
     server: {cpu_s: $cpu,
              cpu_s_per_10k_calls: (if $lg[0].calls > 0 then $cpu * 10000 / $lg[0].calls else null end),
              peak_rss_kb: $hwm, rss_kb: $rss}} + $extra' >"$out/scenarios/$name.json"
  jq -r '"  \(.name): \(.loadgen.calls_per_s) calls/s, p50 \(.loadgen.latency_us.p50) us, p99 \(.loadgen.latency_us.p99) us, errors \(.loadgen.errors.total), cpu/10k \(.server.cpu_s_per_10k_calls), peak rss \(.server.peak_rss_kb) kB"' \
    "$out/scenarios/$name.json" >&2
}

# closed NAME DESCRIPTION PID URL TOOL [SECONDS [WARMUP]]: a warm-up run ($warmup seconds unless
# given; 0: none), then a measured run ($duration seconds unless given).
closed() {
  local name=$1 description=$2 pid=$3 url=$4 tool=$5 seconds=${6:-$duration}
  local warm=${7:-$warmup} t0 t1
  warm_up "$url" "$tool" "$warm"
  reset_peak "$pid"
  t0=$(cpu_ticks "$pid")
  timeout $((seconds + 90)) "$loadgen" "${closed_loop_flags[@]}" --url "$url" --tool "$tool" -c "$connections" \
    --warmup 0 --duration "$seconds" >"$tmp/$name.json" || true
  t1=$(cpu_ticks "$pid")
  record "$name" "$description" "$pid" "$tmp/$name.json" "$t0" "$t1"
}

# warm_up URL TOOL SECONDS: closed-loop calls that are not measured (none for 0 seconds).
warm_up() {
  [ "$3" -gt 0 ] || return 0
  timeout $(($3 + 90)) "$loadgen" "${closed_loop_flags[@]}" --url "$1" --tool "$2" -c "$connections" --warmup 0 \
    --duration "$3" >/dev/null || true
}

# open_loop NAME DESCRIPTION PID URL TOOL: $rate calls/s for $rate_duration seconds.
open_loop() {
  local name=$1 description=$2 pid=$3 url=$4 tool=$5 t0 t1
  timeout $((warmup + 90)) "$loadgen" --url "$url" --tool "$tool" -c "$rate_connections" \
    --rate "$rate" --warmup 0 --duration "$warmup" >/dev/null || true
  reset_peak "$pid"
  t0=$(cpu_ticks "$pid")
  timeout $((rate_duration + 90)) "$loadgen" --url "$url" --tool "$tool" -c "$rate_connections" \
    --rate "$rate" --warmup 0 --duration "$rate_duration" >"$tmp/$name.json" || true
  t1=$(cpu_ticks "$pid")
  record "$name" "$description" "$pid" "$tmp/$name.json" "$t0" "$t1"
}

peer_available() {
  [ -x "$npm_dir/node_modules/.bin/$1" ] && return 0
  log "skipping $1: not installed in $npm_dir (run tools/install-deps.sh)"
  return 1
}

# Direct and through-Forge windows alternate, $pairs of each ($pair_duration seconds), against the
# same fixture process. This machine's speed drifts, from one minute to the next and by a third
# between windows a few seconds apart, and the ratio target compares the two paths, so they are
# measured side by side: each path is reported by its median window, and the ratio is the median
# of the ratios of adjacent windows (forge i / direct i). Every window's figure is in the report.
step_direct_vs_forge_http() {
  local i n
  start_fixture_http
  start_forge http
  wait_ready "$fixture_url" echo
  wait_ready "$forge_url" fixture__echo
  warm_up "$fixture_url" echo "$warmup"
  warm_up "$forge_url" fixture__echo "$warmup"
  for i in $(seq 1 "$pairs"); do
    n=$(printf '%02d' "$i") # windows sort by name in keep_median
    closed "direct_http.$n" "client -> fixture (HTTP), no gateway" "$fixture_pid" \
      "$fixture_url" echo "$pair_duration" 0
    closed "forge_http.$n" "client -> Forge -> fixture (HTTP)" "$forge_pid" "$forge_url" \
      fixture__echo "$pair_duration" 0
  done
  keep_median direct_http
  keep_median forge_http
  pair_ratios
  stop_all
}

# keep_median NAME: of the windows NAME.01..NAME.$pairs, keeps the median by calls/s as NAME,
# listing every window's calls/s and CPU under "windows", in the order they ran.
keep_median() {
  local name=$1
  jq -s --arg name "$name" '
    (map({calls_per_s: .loadgen.calls_per_s, cpu_s_per_10k_calls: .server.cpu_s_per_10k_calls})) as $w |
    (sort_by(.loadgen.calls_per_s) | .[(length - 1) / 2 | floor]) + {name: $name, windows: $w}' \
    "$out/scenarios/$name".[0-9]*.json >"$out/scenarios/$name.json"
  rm -f "$out/scenarios/$name".[0-9]*.json
  jq -r '"  \(.name): median of \(.windows | length) windows: \(.loadgen.calls_per_s) calls/s (\(.windows | map(.calls_per_s | floor | tostring) | join(", ")))"' \
    "$out/scenarios/$name.json" >&2
}

# Adds to forge_http the ratio of each forge window to the direct window just before it, and
# their median: the figure the ratio target checks.
pair_ratios() {
  local direct="$out/scenarios/direct_http.json" forge="$out/scenarios/forge_http.json"
  jq --slurpfile d "$direct" '
    ([.windows, $d[0].windows] | transpose |
     map(if .[1].calls_per_s > 0 then .[0].calls_per_s / .[1].calls_per_s else 0 end)) as $r |
    . + {paired_ratio: {windows: $r, median: ($r | sort | if length % 2 == 1
                                                         then .[length / 2 | floor]
                                                         else (.[length / 2 - 1] + .[length / 2]) / 2 end)}}' \
    "$forge" >"$forge.tmp" && mv "$forge.tmp" "$forge"
  jq -r '"  ratio forge/direct per pair: \(.paired_ratio.windows | map(. * 100 | round / 100 | tostring) | join(", ")); median \(.paired_ratio.median * 100 | round / 100)"' \
    "$forge" >&2
}

step_forge_stdio() {
  start_forge stdio
  wait_ready "$forge_url" fixture__echo
  closed forge_stdio "client -> Forge -> fixture (stdio)" "$forge_pid" "$forge_url" fixture__echo
  stop_all
}

step_supergateway_stdio() {
  peer_available supergateway || return 0
  start_supergateway
  wait_ready "$peer_url" echo
  closed supergateway_stdio "client -> supergateway 4.0 --stateful -> fixture (stdio)" \
    "$peer_pid" "$peer_url" echo
  stop_all
}

step_mcp_proxy_stdio() {
  peer_available mcp-proxy || return 0
  start_mcp_proxy
  wait_ready "$peer_url" echo
  closed mcp_proxy_stdio "client -> mcp-proxy 6.7 -> fixture (stdio)" "$peer_pid" "$peer_url" echo
  stop_all
}

step_rate_direct() {
  start_fixture_http
  wait_ready "$fixture_url" echo
  open_loop rate_direct "$rate calls/s: client -> fixture (HTTP)" "$fixture_pid" "$fixture_url" echo
  stop_all
}

step_rate_forge() {
  start_fixture_http
  start_forge http
  wait_ready "$forge_url" fixture__echo
  open_loop rate_forge "$rate calls/s: client -> Forge -> fixture (HTTP)" "$forge_pid" \
    "$forge_url" fixture__echo
  stop_all
}

# Sessions that stay open without traffic: the gateway's RSS before and after opening them.
step_idle_sessions() {
  local before after t0 t1
  start_fixture_http
  start_forge http
  wait_ready "$forge_url" fixture__echo
  before=$(status_kb "$forge_pid" VmRSS)
  reset_peak "$forge_pid"
  t0=$(cpu_ticks "$forge_pid")
  timeout 300 "$loadgen" --url "$forge_url" -c 16 --idle-sessions "$idle_sessions" --duration 1 \
    --setup-timeout 240 >"$tmp/idle_sessions.json" || true
  t1=$(cpu_ticks "$forge_pid")
  sleep 1
  after=$(status_kb "$forge_pid" VmRSS)
  record idle_sessions "$idle_sessions idle sessions held by Forge" "$forge_pid" \
    "$tmp/idle_sessions.json" "$t0" "$t1" \
    "{\"idle\": {\"sessions\": $idle_sessions, \"rss_kb_before\": $before, \"rss_kb_after\": $after}}"
  stop_all
}

# RSS across $growth_calls calls after a warm-up, sampled after each eighth of them. A single
# sample swings by 10 % and more with the allocator's purging of freed pages, so growth compares
# the median of the first three samples with the median of the last three (a leak of a few bytes
# a call still shows); every sample is kept in the report.
step_rss_growth() {
  local t0 t1 i chunk samples=()
  start_fixture_http
  start_forge http
  wait_ready "$forge_url" fixture__echo
  timeout 600 "$loadgen" --url "$forge_url" --tool fixture__echo -c "$connections" \
    --calls "$growth_warmup" --duration 300 >/dev/null || true
  reset_peak "$forge_pid"
  chunk=$((growth_calls / 8))
  t0=$(cpu_ticks "$forge_pid")
  for i in $(seq 1 8); do
    timeout 300 "$loadgen" --url "$forge_url" --tool fixture__echo -c "$connections" \
      --calls "$chunk" --duration 200 >"$tmp/rss_growth.$i.json" || true
    samples+=("$(status_kb "$forge_pid" VmRSS)")
  done
  t1=$(cpu_ticks "$forge_pid")
  # One loadgen result for the whole run: the calls, errors and time of every chunk, the
  # latency of the last.
  jq -s '.[-1] + {calls: (map(.calls) | add), window_s: (map(.window_s) | add),
                  calls_per_s: ((map(.calls) | add) / (map(.window_s) | add)),
                  errors: {total: (map(.errors.total) | add)}}' \
    "$tmp"/rss_growth.[1-8].json >"$tmp/rss_growth.json"
  local list
  list=$(printf '%s,' "${samples[@]}")
  record rss_growth "$growth_calls calls through Forge -> fixture (HTTP) after $growth_warmup warm-up calls" \
    "$forge_pid" "$tmp/rss_growth.json" "$t0" "$t1" \
    "$(jq -n --argjson s "[${list%,}]" --argjson calls "$growth_calls" \
      '{growth: {calls: $calls, samples_kb: $s, rss_kb_before: ($s[0:3] | sort | .[1]),
                 rss_kb_after: ($s[-3:] | sort | .[1])}}')"
  stop_all
}

# Where Forge's CPU goes under load: perf samples of the gateway (its own functions, no call
# graphs: the Release build keeps no frame pointers) during a closed-loop run.
step_profile() {
  if ! command -v perf >/dev/null; then
    log "skipping profile: perf not installed"
    return 0
  fi
  start_fixture_http
  start_forge http
  wait_ready "$forge_url" fixture__echo
  timeout $((duration + 60)) perf record -q -F 999 -o "$tmp/perf.data" -p "$forge_pid" \
    -- sleep "$duration" >/dev/null 2>&1 &
  local perf_pid=$!
  timeout $((duration + 90)) "$loadgen" --url "$forge_url" --tool fixture__echo -c "$connections" \
    --warmup 0 --duration "$duration" >/dev/null || true
  wait "$perf_pid" || true
  perf report -i "$tmp/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
    grep -vE '^#|^$' | cut -c1-160 | awk 'NR <= 40' >"$out/perf-top.txt" || true
  log "profile: $out/perf-top.txt"
  stop_all
}

step_micro() {
  if [ ! -x "$micro" ]; then
    log "skipping micro: $micro not built (Google Benchmark missing?)"
    return 0
  fi
  timeout 600 "$micro" --benchmark_min_time="$micro_min_time" --benchmark_format=console \
    --benchmark_out="$out/micro.json" --benchmark_out_format=json >"$out/micro.txt" 2>&1 || true
  log "micro-benchmarks: $out/micro.txt"
}

# Total instructions of the gateway from the last dump up to now: callgrind_control --dump writes
# the counts since the previous dump into the next numbered file.
callgrind_dump() {
  local n=$1
  callgrind_control --dump="phase$n" "$forge_pid" >/dev/null 2>&1
  for _ in $(seq 1 100); do
    [ -s "$tmp/cg.out.$n" ] && break
    sleep 0.1
  done
  awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out.$n"
}

# The functions with the most instructions of their own in a callgrind dump. A dump taken while
# threads run also charges the frames still on their stacks (thread entry points, the event
# loop's run()) with everything below them; those frames are left out here.
callgrind_top() {
  callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null |
    awk '/^-+$/ {dashes++; next} dashes >= 4 && NF > 0' |
    grep -vE 'io_context::run\(\)|clone\.S|start_thread|below main|libc_start|:main \[|runMain|::run\(\) \[|_M_run\(\)|\?\?\?:0x' |
    sed -E 's/\[[^]]*\]$//' | cut -c1-160 | awk 'NR <= 40' || true
}

# Instructions the gateway executes per proxied call: two runs of different lengths under
# callgrind, so that opening sessions and the gateway's timers cancel out of the difference.
step_callgrind() {
  if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
    log "skipping callgrind: valgrind not installed"
    return 0
  fi
  local ir_a ir_b
  start_fixture_http
  start_forge http valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out"
  wait_ready "$forge_url" fixture__echo 600
  "$loadgen" --url "$forge_url" --tool fixture__echo -c 4 --calls "$cg_warmup" --duration 300 \
    --timeout-ms 30000 >/dev/null || true
  callgrind_dump 1 >/dev/null
  "$loadgen" --url "$forge_url" --tool fixture__echo -c 4 --calls "$cg_calls_a" --duration 300 \
    --timeout-ms 30000 >"$tmp/cg_a.json" || true
  ir_a=$(callgrind_dump 2)
  "$loadgen" --url "$forge_url" --tool fixture__echo -c 4 --calls "$cg_calls_b" --duration 300 \
    --timeout-ms 30000 >"$tmp/cg_b.json" || true
  ir_b=$(callgrind_dump 3)
  cp "$tmp/cg.out.3" "$out/callgrind.out"
  callgrind_top "$out/callgrind.out" >"$out/callgrind-top.txt"
  jq -n --argjson ir_a "$ir_a" --argjson ir_b "$ir_b" --argjson a "$cg_calls_a" \
    --argjson b "$cg_calls_b" --slurpfile la "$tmp/cg_a.json" --slurpfile lb "$tmp/cg_b.json" '
    {calls_a: $a, calls_b: $b, ir_a: $ir_a, ir_b: $ir_b,
     errors: ($la[0].errors.total + $lb[0].errors.total),
     ir_per_call: (($ir_b - $ir_a) / ($b - $a) | floor)}' >"$out/callgrind.json"
  log "callgrind: $(jq .ir_per_call "$out/callgrind.json") instructions per proxied call"
  stop_all
}

# ---- run --------------------------------------------------------------------------------------
if [ "$do_build" = 1 ]; then
  log "building Release in $build"
  "$root/tools/build.sh" "$build" -DFORGE_BUILD_TESTS=OFF -DFORGE_BENCH=ON
fi
for f in "$loadgen" "$forge" "$fixture"; do
  [ -x "$f" ] || { echo "bench/run.sh: $f is missing (build first)" >&2; exit 1; }
done
if [ ! -d "$npm_dir/node_modules" ] && command -v npm >/dev/null; then
  log "installing the npm peers in $npm_dir"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error) || true
fi

# A partial run (--only) keeps the other steps' last results, so that the report stays whole.
[ -n "$only" ] || rm -f "$out"/scenarios/*.json "$out"/micro.* "$out"/callgrind* "$out/perf-top.txt"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for step in $steps; do
  wanted "$step" || continue
  log "step $step"
  "step_$step"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$root/bench/report.sh" "$out" "$started_at" "$load_before" "$load_after" "$quick"
log "report: $out/report.md and $out/report.json"
