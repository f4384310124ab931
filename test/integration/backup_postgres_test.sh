#!/usr/bin/env bash
# Backups of a PostgreSQL stack, end to end: a throwaway PostgreSQL (tools/pg-test-server.sh), a
# gateway on it with an upstream and servers registered, writes in flight while
# `forge backup create` runs pg_dump; then verify, verify-restore (a scratch database), the
# recovery drill (`forge dr test`: scratch database, a second gateway, RTO), and a restore over
# the database once the gateway is stopped, which brings back exactly the backed-up rows.
#   backup_postgres_test.sh FORGE_BINARY FIXTURE_BINARY
FORGE=$1
FIXTURE=$2
source "$(dirname "$0")/lib.sh"

root=$(cd "$here/../.." && pwd)
pg_server="$root/tools/pg-test-server.sh"
cluster=$(mktemp -d "${TMPDIR:-/tmp}/forge-pg.XXXXXX")
writer_pid=

on_exit() {
  local status=$?
  [ "$BASHPID" = "$$" ] || exit $status
  set +e
  [ -n "$writer_pid" ] && kill -TERM "$writer_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  bash "$pg_server" stop "$cluster" >&2 || { echo "FAIL: stopping PostgreSQL" >&2; status=1; }
  (exit $status)
  cleanup
}
trap on_exit EXIT

DATABASE_URL=$(bash "$pg_server" start "$cluster") || fail "could not start PostgreSQL"
export DATABASE_URL
echo "ok: PostgreSQL at $DATABASE_URL"
data="$work/data"

start_gateway_on_pg() {
  start gateway "$FORGE" gateway --server-port 0 --data-dir "$data" --log-access false
  wait_for_line gateway 'listening on' >/dev/null
  gateway_port=$(port_of "$(grep -m1 'listening on' "$work/gateway.log")")
}
post() { curl -sS --max-time 20 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "$2" "http://127.0.0.1:$gateway_port$1"; }
json_field() { node -e "const r=JSON.parse(require('fs').readFileSync(0,'utf8'));
  const v=$1; process.stdout.write(String(v))"; }

start_gateway_on_pg
[ "$(post /gateways "{\"name\":\"extra\",\"transport\":\"stdio\",\"command\":\"$FIXTURE\",\"args\":[\"--stdio\"]}")" = 201 ] ||
  fail "registering an upstream"
for i in 1 2 3; do [ "$(post /servers "{\"server\":{\"name\":\"s$i\"}}")" = 201 ] || fail "POST /servers"; done
echo "ok: gateway on PostgreSQL (port $gateway_port) with an upstream and 3 servers"

# ---- writes in flight during the backup
(
  i=0
  while :; do
    i=$((i + 1))
    post /servers "{\"server\":{\"name\":\"w$i\"}}" >/dev/null || true
  done
) &
writer_pid=$!
sleep 0.5
"$FORGE" backup create --data-dir "$data" --json >"$work/create.json" 2>"$work/create.log" ||
  fail "forge backup create: $(cat "$work/create.log")"
kill -TERM "$writer_pid" 2>/dev/null || true
wait "$writer_pid" 2>/dev/null || true
writer_pid=
id=$(json_field r.id <"$work/create.json")
servers=$(json_field r.tables.servers <"$work/create.json")
[ "$(json_field r.backend <"$work/create.json")" = postgresql ] || fail "the backup is not of PostgreSQL"
[ "$servers" -ge 3 ] || fail "the backup holds $servers servers"
[ -f "$data/backups/$id/forge.dump" ] || fail "no forge.dump in the backup"
echo "ok: backup $id taken with writes in flight: $servers servers"

"$FORGE" backup verify "$id" --data-dir "$data" >"$work/verify.out" 2>&1 ||
  fail "forge backup verify: $(cat "$work/verify.out")"
grep -q 'pg_restore --list reads' "$work/verify.out" || fail "verify did not read the archive"
echo "ok: verify (checksums, pg_restore --list, schema version)"

"$FORGE" backup verify-restore "$id" --data-dir "$data" --json >"$work/vr.json" 2>"$work/vr.log" ||
  fail "forge backup verify-restore: $(cat "$work/vr.json" "$work/vr.log")"
[ "$(json_field r.tables.servers <"$work/vr.json")" = "$servers" ] || fail "verify-restore rows differ"
echo "ok: verify-restore into a scratch database: $servers servers, as recorded"

"$FORGE" dr test --data-dir "$data" --backup "$id" --json >"$work/dr.json" 2>"$work/dr.log" ||
  fail "forge dr test: $(cat "$work/dr.json" "$work/dr.log")"
[ "$(json_field r.status <"$work/dr.json")" = ok ] || fail "the drill is not ok: $(cat "$work/dr.json")"
rto=$(json_field r.rto_ms <"$work/dr.json")
[ "$rto" -gt 0 ] || fail "no recovery time measured"
echo "ok: dr test on PostgreSQL: RTO $rto ms, RPO $(json_field r.rpo_ms <"$work/dr.json") ms"
leftover=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'forge_scratch_%'")
[ "$leftover" = 0 ] || fail "$leftover scratch databases left behind"

# ---- restore over the live database, refused while the gateway runs, done once it is stopped
"$FORGE" backup restore "$id" --data-dir "$data" --gateway-url "http://127.0.0.1:$gateway_port" \
  >/dev/null 2>"$work/refused.log" && fail "restore ran while the gateway answered"
grep -q 'refusing to restore' "$work/refused.log" || fail "no refusal message"
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
"$FORGE" backup restore "$id" --data-dir "$data" --gateway-url "http://127.0.0.1:$gateway_port" \
  >"$work/restore.out" 2>&1 || fail "forge backup restore: $(cat "$work/restore.out")"
now=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM servers")
[ "$now" = "$servers" ] || fail "after the restore: $now servers, the backup holds $servers"
grep -q 'safety backup' "$work/restore.out" || fail "no safety backup was taken"
echo "ok: restore (after a safety backup) brought back exactly $servers servers"
