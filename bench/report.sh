#!/usr/bin/env bash
# bench/report.sh OUT_DIR STARTED_AT LOAD_BEFORE LOAD_AFTER QUICK: gathers what bench/run.sh
# measured (OUT_DIR/scenarios/*.json, micro.json, callgrind.json) into OUT_DIR/report.json, checks
# the targets of docs/PERFORMANCE.md, and writes OUT_DIR/report.md.
set -euo pipefail

out=$1 started_at=$2 load_before=$3 load_after=$4 quick=$5
root=$(cd "$(dirname "$0")/.." && pwd)

json_or_null() { if [ -s "$1" ]; then cat "$1"; else echo null; fi; }

machine=$(jq -n \
  --arg cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
  --argjson cores "$(nproc)" \
  --argjson mem_kb "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)" \
  --arg kernel "$(uname -r)" \
  --arg os "$(. /etc/os-release && echo "$PRETTY_NAME")" \
  --arg compiler "$(c++ --version | sed -n 1p)" \
  --arg load_before "$load_before" --arg load_after "$load_after" \
  '{cpu: $cpu, cores: $cores, memory_mb: ($mem_kb / 1024 | floor), kernel: $kernel, os: $os,
    compiler: $compiler, load_before: $load_before, load_after: $load_after}')

if compgen -G "$out/scenarios/*.json" >/dev/null; then
  scenarios=$(jq -s 'map({key: .name, value: .}) | from_entries' "$out"/scenarios/*.json)
else
  scenarios='{}'
fi

# Micro-benchmarks: name and nanoseconds per iteration.
micro=$(json_or_null "$out/micro.json" | jq '
  if . == null then null else
  [.benchmarks[] | select(.run_type != "aggregate") |
   {name, ns_per_op: ((if .time_unit == "us" then .real_time * 1000 elif .time_unit == "ms"
                       then .real_time * 1e6 else .real_time end) | . * 10 | round / 10),
    cpu_ns_per_op: ((if .time_unit == "us" then .cpu_time * 1000 elif .time_unit == "ms"
                       then .cpu_time * 1e6 else .cpu_time end) | . * 10 | round / 10)}] end')

jq -n --arg started_at "$started_at" --arg commit "$(git -C "$root" rev-parse --short HEAD)" \
  --argjson quick "$quick" --argjson machine "$machine" --argjson s "$scenarios" \
  --argjson micro "$micro" --argjson callgrind "$(json_or_null "$out/callgrind.json")" '
  def cps(n): $s[n].loadgen.calls_per_s // null;
  def target(name; value; goal; ok): {target: name, value: value, goal: goal, met: ok};
  def ratio(a; b): if a != null and b != null and b > 0 then (a / b * 100 | round / 100) else null end;
  def p99(n): $s[n].loadgen.latency_us.p99 // null;
  def mb(kb): if kb == null then null else (kb / 1024 * 10 | round / 10) end;
  {started_at: $started_at, commit: $commit, quick: ($quick == 1), machine: $machine,
   scenarios: $s, micro: $micro, callgrind: $callgrind} |
  .targets = [
    ((if $s.forge_http.paired_ratio then ($s.forge_http.paired_ratio.median * 100 | round / 100)
      else ratio(cps("forge_http"); cps("direct_http")) end) as $r |
      target("Forge -> HTTP upstream vs direct (throughput ratio)"; $r; ">= 0.5";
             $r != null and $r >= 0.5)),
    (cps("forge_http") as $v |
      target("Forge -> HTTP upstream (calls/s)"; $v; ">= 15000"; $v != null and $v >= 15000)),
    (ratio(cps("forge_stdio"); cps("supergateway_stdio")) as $r |
      target("Forge stdio vs supergateway (throughput ratio)"; $r; ">= 10 (aim 20)";
             $r != null and $r >= 10)),
    (ratio(cps("forge_stdio"); cps("mcp_proxy_stdio")) as $r |
      target("Forge stdio vs mcp-proxy (throughput ratio)"; $r; ">= 10 (aim 20)";
             $r != null and $r >= 10)),
    ((if p99("rate_forge") != null and p99("rate_direct") != null
      then (p99("rate_forge") - p99("rate_direct") | . * 10 | round / 10) else null end) as $v |
      target("p99 added latency at 1,000 calls/s (us)"; $v; "< 1000"; $v != null and $v < 1000)),
    (mb($s.idle_sessions.idle.rss_kb_after) as $v |
      target("RSS with \($s.idle_sessions.idle.sessions // 10000) idle sessions (MB)"; $v;
             "< 100"; $v != null and $v < 100 and
             ($s.idle_sessions.loadgen.sessions // 0) >= ($s.idle_sessions.idle.sessions // 1))),
    ((if $s.rss_growth != null then
        (($s.rss_growth.growth.rss_kb_after - $s.rss_growth.growth.rss_kb_before) /
          $s.rss_growth.growth.rss_kb_before * 1000 | round / 10) else null end) as $v |
      target("RSS growth across \($s.rss_growth.growth.calls // 1000000) calls (%)"; $v; "< 5";
             $v != null and $v < 5))
  ]' >"$out/report.json"

# ---- Markdown -----------------------------------------------------------------------------------
jq -r '
  def n(x): if x == null then "–" else (x | tostring) end;
  def f1(x): if x == null then "–" else (x * 10 | round / 10 | tostring) end;
  def ms(kb): if kb == null then "–" else (kb / 1024 * 10 | round / 10 | tostring) end;
  def row(k): .scenarios[k] as $x | if $x == null then empty else
    "| \(k) | \($x.description) | \(f1($x.loadgen.calls_per_s)) | \(f1($x.loadgen.latency_us.p50)) | \(f1($x.loadgen.latency_us.p90)) | \(f1($x.loadgen.latency_us.p99)) | \(n($x.loadgen.errors.total)) | \(if $x.server.cpu_s_per_10k_calls == null then "–" else ($x.server.cpu_s_per_10k_calls * 1000 | round / 1000 | tostring) end) | \(ms($x.server.peak_rss_kb)) |" end;
  "# Forge benchmark report",
  "",
  "Run \(.started_at), commit \(.commit)\(if .quick then ", quick mode (shorter windows)" else "" end).",
  "Machine: \(.machine.cpu), \(.machine.cores) cores, \(.machine.memory_mb) MB, \(.machine.os), kernel \(.machine.kernel), \(.machine.compiler).",
  "Load average (1/5/15 min) before: \(.machine.load_before); after: \(.machine.load_after).",
  "",
  "## Targets",
  "",
  "| target | measured | goal | met |",
  "|---|---|---|---|",
  (.targets[] | "| \(.target) | \(n(.value)) | \(.goal) | \(if .value == null then "not run" elif .met then "yes" else "**no**" end) |"),
  "",
  "## Scenarios",
  "",
  "Latency in microseconds. CPU and RSS are those of the server in front of the client: the gateway, or the fixture when called directly.",
  "",
  "| scenario | path | calls/s | p50 | p90 | p99 | errors | CPU s / 10k calls | peak RSS MB |",
  "|---|---|---|---|---|---|---|---|---|",
  row("direct_http"), row("forge_http"), row("forge_stdio"), row("supergateway_stdio"),
  row("mcp_proxy_stdio"), row("rate_direct"), row("rate_forge"), row("rss_growth"),
  "",
  (if .scenarios.direct_http.windows and .scenarios.forge_http.windows then
    "Direct and through Forge were measured in \(.scenarios.direct_http.windows | length) alternating windows each against the same fixture; the table shows the median window of each. Calls/s per window, in the order they ran: direct \(.scenarios.direct_http.windows | map(.calls_per_s | floor | tostring) | join(", ")); through Forge \(.scenarios.forge_http.windows | map(.calls_per_s | floor | tostring) | join(", "))." +
    (if .scenarios.forge_http.paired_ratio then " Ratio of each Forge window to the direct window before it: \(.scenarios.forge_http.paired_ratio.windows | map(. * 100 | round / 100 | tostring) | join(", ")); the target checks their median, \(.scenarios.forge_http.paired_ratio.median * 100 | round / 100)." else "" end) + "\n"
   else empty end),
  (if .scenarios.idle_sessions then
    .scenarios.idle_sessions as $i |
    "Idle sessions: \($i.loadgen.sessions) of \($i.idle.sessions) opened in \(f1($i.loadgen.window_s)) s (p50 \(f1($i.loadgen.latency_us.p50)) us each); gateway RSS \(ms($i.idle.rss_kb_before)) MB before, \(ms($i.idle.rss_kb_after)) MB after (peak \(ms($i.server.peak_rss_kb)) MB).\n"
   else empty end),
  (if .scenarios.rss_growth then
    .scenarios.rss_growth as $g |
    "Memory across \($g.growth.calls) calls after the warm-up: RSS \(ms($g.growth.rss_kb_before)) MB early, \(ms($g.growth.rss_kb_after)) MB late (medians of the first three and of the last three samples). RSS after each eighth, MB: \($g.growth.samples_kb // [] | map(ms(.)) | join(", ")).\n"
   else empty end),
  (if .callgrind then
    "## Instructions per proxied call (callgrind)",
    "",
    "\(.callgrind.ir_per_call) instructions in the gateway per tools/call through Forge -> fixture (HTTP): (\(.callgrind.ir_b) - \(.callgrind.ir_a)) Ir / (\(.callgrind.calls_b) - \(.callgrind.calls_a)) calls; \(.callgrind.errors) errors. Top functions: callgrind-top.txt.",
    ""
   else empty end),
  (if .micro then
    "## Micro-benchmarks (Google Benchmark)",
    "",
    "| benchmark | ns per op (wall) | ns per op (CPU) |",
    "|---|---|---|",
    (.micro[] | "| \(.name) | \(.ns_per_op) | \(.cpu_ns_per_op) |"),
    ""
   else empty end)
' "$out/report.json" >"$out/report.md"

# The profiles, when the run made them: the top of each, as text.
for profile in "perf-top.txt:CPU profile of the gateway under load (perf, self time)" \
  "callgrind-top.txt:Instructions by function, proxied calls only (callgrind, self cost)"; do
  file=${profile%%:*} title=${profile#*:}
  [ -s "$out/$file" ] || continue
  {
    printf '\n## %s\n\n```\n' "$title"
    head -25 "$out/$file" | sed -E 's/ +$//'
    printf '```\n'
  } >>"$out/report.md"
done
