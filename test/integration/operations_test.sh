#!/usr/bin/env bash
# The operations guide on a live stack: `forge up` runs the fixture MCP server and two gateway
# replicas on one port (authentication on) under the manager, and every procedure of
# docs/OPERATIONS.md runs against it through its script in scripts/ (each a wrapper over one
# forge command), checking exit codes and what each prints.
#   operations_test.sh FORGE FIXTURE
FORGE=$1
FIXTURE=$2
source "$(dirname "$0")/lib.sh"

root=$(cd "$here/../.." && pwd)
scripts="$root/scripts"
data="$work/data"
mkdir -p "$data"

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
    console.log(s.address().port); s.close(); });'
}
manager_port=$(free_port)
gateway_port=$(free_port)
fixture_port=$(free_port)

export FORGE_BIN=$FORGE
export FORGE_DATA_DIR=$data
export FORGE_MANAGER_URL=http://127.0.0.1:$manager_port
export FORGE_GATEWAY_URL=http://127.0.0.1:$gateway_port
export AUTH_REQUIRED=true
unset FORGE_TOKEN MCP_GATEWAY_TOKEN

stack_down() {
  local status=$?
  [ "$BASHPID" = "$$" ] || exit $status
  "$FORGE" down --data-dir "$data" >/dev/null 2>&1 || true
  (exit $status)
  cleanup
}
trap stack_down EXIT

cat >"$work/forge.yaml" <<YAML
upstreams:
  - name: fixture
    transport: streamable-http
    url: http://127.0.0.1:$fixture_port/mcp
YAML
cat >"$work/services.yml" <<YAML
manager:
  port: $manager_port
services:
  - name: fixture
    kind: mcp
    command: ["$FIXTURE", --port, "{port}"]
    port: $fixture_port
    health: {type: mcp, interval: 300ms, timeout: 2s}
  - name: gateway
    kind: gateway
    command: ["$FORGE", gateway, --config, "$work/forge.yaml", --server-port, "{port}",
              --data-dir, "{data_dir}"]
    port: $gateway_port
    shared_port: true
    replicas: 2
    health: {type: http, path: /ready, interval: 300ms}
    stop_grace: 15s
YAML

# step NAME EXPECTED_EXIT_CODES CMD...: runs CMD, output in $work/NAME.out; fails unless its exit
# code is one of EXPECTED (comma separated).
step() {
  local name=$1 expected=$2 status
  shift 2
  set +e
  "$@" >"$work/$name.out" 2>"$work/$name.err"
  status=$?
  set -e
  if [[ ",$expected," != *",$status,"* ]]; then
    echo "---- $name stdout"; tail -n 30 "$work/$name.out"
    echo "---- $name stderr"; tail -n 30 "$work/$name.err"
    fail "$name: exit $status, expected $expected ($*)"
  fi
  echo "ok: $name (exit $status)"
}
# holds NAME TEXT: NAME's output contains TEXT.
holds() { grep -q -- "$2" "$work/$1.out" || { cat "$work/$1.out"; fail "$1: no '$2' in its output"; }; }

echo "== the stack"
step up 0 "$FORGE" up -c "$work/services.yml"
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$gateway_port/ready" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$gateway_port/ready" >/dev/null || fail "the gateway is not ready"
# Both replicas running (the first ready one answers /ready before the second is checked).
gateway_running() {
  "$FORGE" ps --json | node -e 'let t = "";
    process.stdin.on("data", (d) => (t += d)).on("end", () => {
      const g = JSON.parse(t).find((s) => s.name === "gateway");
      process.exit(g && g.replicas.filter((r) => r.state === "running").length === 2 ? 0 : 1);
    });'
}
for _ in $(seq 300); do
  gateway_running && break
  sleep 0.1
done
gateway_running || fail "the two gateway replicas are not running"
# Calls through the gateway so that the records have figures: one failing call among them.
token=$("$FORGE" token create --user admin@example.com --data-dir "$data")
# mcp_at PORT CURL-ARGS...: one JSON-RPC request to /rpc on PORT; mcp: on the gateway's port.
mcp_at() {
  local port=$1
  shift
  curl -sS -m 20 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' "$@" "http://127.0.0.1:$port/rpc"
}
mcp() { mcp_at "$gateway_port" "$@"; }
for i in $(seq 20); do
  mcp -d "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"tools/call\",\"params\":{\"name\":\"fixture__echo\",\"arguments\":{\"text\":\"call $i\"}}}" >/dev/null
done
mcp -d '{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"fixture__no_such_tool","arguments":{}}}' >/dev/null || true

echo "== health checks"
step health 0,4 "$scripts/health-check.sh"
holds health gateway
step health-json 0,4 "$FORGE" health --json
step smoke-test 0 "$scripts/smoke-test.sh"
step verify-gateway 0 "$scripts/verify-service.sh" gateway

echo "== monitoring (the machine may be busy: any graded state, but every check present)"
step monitor-check 0,3,4 "$scripts/advanced-monitoring.sh" -c --json
for check in cpu memory disk 'response time' 'error rate'; do holds monitor-check "\"$check"; done
step monitor-watch 0,3,4 "$FORGE" monitor --watch 1 --count 2
# The call figures reach the database at the replicas' next flush (metrics.flush_interval, 5 s).
for _ in $(seq 100); do
  "$scripts/advanced-monitoring.sh" -r 2>/dev/null | grep -q '^fixture ' && break
  sleep 0.2
done
step monitor-report 0,3,4 "$scripts/advanced-monitoring.sh" -r
holds monitor-report fixture
step monitor-alerts 0 "$scripts/advanced-monitoring.sh" -a

echo "== reports"
sleep 6 # one flush of the recorded call figures
step report-performance 0 "$scripts/performance-report.sh" --json
holds report-performance echo
step report-capacity 0 "$scripts/capacity-report.sh"
step report-trends 0 "$scripts/performance-trends.sh"
step report-bottlenecks 0 "$scripts/bottleneck-analysis.sh"

echo "== incidents"
step incident-open 0 "$FORGE" incident open --severity WARNING --title "slow calls"
id=$(tr -d '[:space:]' <"$work/incident-open.out")
[[ $id =~ ^[0-9]+$ ]] || fail "incident open printed '$id', not an id"
step incident-assess 0,3,4 "$scripts/assess-incident.sh" "$id"
step incident-note 0 "$scripts/document-incident.sh" "$id" "looked at the gateway"
step incident-notify 0 "$scripts/notify-stakeholders.sh" "$id" "next update in 30 min"
step incident-recover 0 "$scripts/automated-recovery.sh" "$id" --dry-run
step incident-escalate 0 "$scripts/escalate-incident.sh" "$id"
step incident-auto 0 "$scripts/escalate-incident.sh" --auto --dry-run
step incident-list 0 "$scripts/incident-response.sh"
holds incident-list "slow calls"
step incident-show 0 "$scripts/handoff-documentation.sh" "$id"
holds incident-show "looked at the gateway"
step incident-close 0 "$FORGE" incident close "$id" --resolution "thresholds tuned"
step incident-logs 0 "$scripts/incident-response.sh" -l gateway 20
step incident-scale 0 "$scripts/incident-response.sh" -s gateway 2
step incident-restart 0 "$scripts/incident-response.sh" -r fixture

echo "== backup and recovery"
step backup-create 0 "$scripts/backup-create.sh"
step backup-list 0 "$scripts/backup-list.sh"
step backup-verify 0 "$scripts/backup-verify.sh"
step backup-verify-restore 0 "$scripts/backup-verify-restore.sh"
step backup-test 0 "$scripts/test-backup.sh"
step dr-test 0 "$scripts/disaster-recovery-test.sh" --config "$work/forge.yaml"
step db-status 0 "$FORGE" db status
step db-stats 0 "$FORGE" db stats
step db-vacuum 0 "$FORGE" db vacuum
step prune 0 "$FORGE" prune --older-than 90 --dry-run

echo "== deployment"
step deploy-check 0,3,4 "$scripts/deploy-production.sh" -c
step deploy-validate 0 "$FORGE" deploy validate --binary "$FORGE" --config "$work/forge.yaml" \
  --services "$work/services.yml"
# This stack runs the binary in place, not a release (docs/ops/deployment.md): verify says so.
step deploy-verify 3 "$scripts/deploy-production.sh" --verify
grep -q "no current release" "$work/deploy-verify.out" "$work/deploy-verify.err" ||
  fail "deploy verify did not say that no release is installed"
step rolling 0 "$scripts/network-restart.sh"
step failover 0 "$scripts/failover-test.sh" gateway

echo "== security and access"
curl -s -o /dev/null -H 'Content-Type: application/json' \
  -d '{"email":"admin@example.com","password":"wrong"}' "http://127.0.0.1:$gateway_port/auth/email/login"
# The refusal reaches the audit trail through the gateway's storage worker: give it a moment.
for _ in $(seq 50); do
  "$scripts/security-monitor.sh" --auth-failures --json 2>/dev/null | grep -q admin@example.com && break
  sleep 0.2
done
step auth-failures 0 "$scripts/security-monitor.sh" --auth-failures --json
holds auth-failures admin@example.com
step anomalies 0,3,4 "$scripts/security-monitor.sh" --anomaly-detection
step access-log 0 "$scripts/security-monitor.sh" --access-logs
step security-audit 0 "$scripts/security-audit.sh"
step access-review 0 "$scripts/access-review.sh"
step access-audit 0 "$scripts/access-audit.sh"
own_ports=$("$FORGE" ps --json | grep -o '"own_port":[1-9][0-9]*' | cut -d: -f2)
[ "$(echo $own_ports | wc -w)" = 2 ] || fail "the gateway replicas have no ports of their own"
listed_by() { mcp_at "$1" -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' | grep -c fixture__echo; }
for port in $own_ports; do
  [ "$(listed_by "$port")" = 1 ] || fail "the replica on port $port does not list fixture__echo"
done
step isolate 0 "$scripts/security-isolate.sh" --upstream fixture --reason "drill"
holds isolate fixture
# Every replica drops the upstream within the catalog sync interval (2 s), with no restart:
# each, asked on the port of its own the manager gave it, lists none of its tools within 10 s.
for port in $own_ports; do
  for _ in $(seq 100); do
    [ "$(listed_by "$port")" = 0 ] && break
    sleep 0.1
  done
  [ "$(listed_by "$port")" = 0 ] ||
    fail "the replica on port $port still lists an isolated upstream's tools after 10 s"
done
step forensics 0 "$scripts/security-forensics.sh" --user admin@example.com -o "$work/forensics.json"
[ -s "$work/forensics.json" ] || fail "forensics wrote no report"

echo "== debugging"
step log-level-debug 0 "$FORGE" log-level debug
# Each replica, called on the port of its own the manager gave it.
[ "$(grep -c '^gateway .* debug ' "$work/log-level-debug.out")" = 2 ] ||
  fail "log-level did not reach both gateway replicas: $(cat "$work/log-level-debug.out")"
step log-level-info 0 "$FORGE" log-level info
step doctor 0,4 "$scripts/debug-info.sh"
step stats 0 "$scripts/service-diagnostics.sh"
step bundle 0 "$scripts/debug-report.sh" -o "$work/bundle.tar.gz"
tar -tzf "$work/bundle.tar.gz" >/dev/null || fail "the debug bundle is not a tar.gz"
secret=$(sed -nE 's/.*"jwt_secret" *: *"([^"]+)".*/\1/p' "$data/secrets.json")
[ -n "$secret" ] && ! tar -xzOf "$work/bundle.tar.gz" | grep -qF "$secret" ||
  fail "the debug bundle holds the JWT secret"

echo "== scaling"
step scale-policy 0 "$scripts/scale-policy.sh" --configure fixture --min 1 --max 2 --target-cpu 50
step scale-status 0 "$scripts/scale-status.sh"
step auto-scale 0 "$scripts/auto-scale.sh" --enable --interval 1 --count 1
step scale-monitor 0 "$scripts/scale-monitor.sh"

echo "== procedures people follow"
for s in onboarding-checklist training-materials update-procedures assess-training; do
  step "$s" 0 "$scripts/$s.sh"
done

step down 0 "$FORGE" down
echo "PASS: every procedure of the operations guide ran against a live stack"
