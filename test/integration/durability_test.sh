#!/usr/bin/env bash
# Acknowledged writes survive a SIGKILL of the gateway.
#  Four concurrent writers POST /servers with unique names as fast as they can; each records
#  "name id" only once it holds a 201 with the id. After ~1.5 s (and at least 50 acknowledged
#  writes) the gateway is killed with SIGKILL, mid-write. Restarted on the same data directory
#  (or database), it must answer /ready, return every acknowledged server by id with its name,
#  list at least as many servers as were acknowledged, and (SQLite) pass PRAGMA integrity_check.
#   durability_test.sh FORGE_BINARY FIXTURE_BINARY [sqlite|postgresql]
FORGE=$1
FIXTURE=$2 # unused: no upstream is needed; kept for the common argument list
backend=${3:-sqlite}
source "$(dirname "$0")/lib.sh"
: "$FIXTURE"

writers=4
min_acknowledged=50
root=$(cd "$here/../.." && pwd)
pg_server="$root/tools/pg-test-server.sh"
cluster=

# Stops the writers' curl, the gateway and the writers (as lib.sh's cleanup does), then the
# PostgreSQL cluster, then hands over to lib.sh's cleanup.
on_exit() {
  local status=$? f
  [ "$BASHPID" = "$$" ] || exit $status
  set +e # on the way out: every step runs; (exit $status) hands the status to cleanup
  for f in "$work"/writer.*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "$cluster" ]; then
    bash "$pg_server" stop "$cluster" >&2 || { echo "FAIL: stopping PostgreSQL" >&2; status=1; }
  fi
  (exit $status)
  cleanup
}
trap on_exit EXIT

case "$backend" in
sqlite)
  unset DATABASE_URL
  ;;
postgresql)
  cluster=$(mktemp -d "${TMPDIR:-/tmp}/forge-pg.XXXXXX")
  DATABASE_URL=$(bash "$pg_server" start "$cluster") || fail "could not start PostgreSQL"
  export DATABASE_URL
  echo "ok: PostgreSQL at $DATABASE_URL"
  ;;
*)
  fail "unknown backend '$backend' (sqlite or postgresql)"
  ;;
esac

printf 'log:\n  level: info\n' >"$work/forge.yaml"

# launch NAME: starts the gateway on $work/data, logging to $work/NAME.log; sets $gateway_pid
# and $gateway_port.
launch() {
  start "$1" "$FORGE" gateway --config "$work/forge.yaml" --server-port 0 --data-dir "$work/data" \
    --log-access false
  gateway_pid=${pids[-1]}
  wait_for_line "$1" 'listening on' 20 >/dev/null
  gateway_port=$(port_of "$(grep -m1 'listening on' "$work/$1.log")")
}

# writer_config N: curl's config for writer N: POST /servers "wN-1", "wN-2"... (5000), one
# after the other over one connection (a process per request would cost more than the write).
writer_config() {
  local n=$1 i
  for i in $(seq 5000); do
    [ "$i" -eq 1 ] || echo next
    printf 'url = "http://127.0.0.1:%s/servers"\n' "$gateway_port"
    printf 'header = "Content-Type: application/json"\n'
    printf 'data = "{\\"server\\":{\\"name\\":\\"w%s-%s\\",\\"description\\":\\"durability\\"}}"\n' \
      "$n" "$i"
    printf 'max-time = 5\nwrite-out = "\\n%%{http_code}\\n"\n'
  done >"$work/writer.$n.curl"
}

# writer N: runs writer N's requests and appends "name id" to $work/acked.N as each 201 with an
# id arrives (an acknowledged write). curl's pid goes to $work/writer.N.pid, to stop it.
writer() {
  local n=$1 line body id name
  local out="$work/acked.$n"
  : >"$out"
  # Each answer is its body on one line, then the status on the next.
  body=
  while IFS= read -r line; do
    if [[ $line =~ ^[0-9]{3}$ ]]; then
      if [ "$line" = 201 ] && [[ $body =~ \"id\":\"([^\"]+)\" ]]; then
        id=${BASH_REMATCH[1]}
        if [[ $body =~ \"name\":\"([^\"]+)\" ]]; then
          name=${BASH_REMATCH[1]}
          echo "$name $id" >>"$out"
        fi
      fi
      body=
    else
      body=$line
    fi
  done < <(
    curl -sS -K "$work/writer.$n.curl" 2>"$work/writer.$n.err" &
    echo $! >"$work/writer.$n.pid"
    wait
  )
}

acknowledged() { cat "$work"/acked.* 2>/dev/null | wc -l; }

# ---- write, and kill mid-write ------------------------------------------------------------------
launch gateway
[ "$(cat "/proc/$gateway_pid/comm" 2>/dev/null)" = forge ] || fail "pid $gateway_pid is not forge"
curl -sS --max-time 5 -f "http://127.0.0.1:$gateway_port/ready" >/dev/null || fail "not ready"
echo "ok: gateway ($backend) runs as pid $gateway_pid on port $gateway_port"

for n in $(seq "$writers"); do writer_config "$n"; done
writer_pids=()
for n in $(seq "$writers"); do
  writer "$n" &
  pids+=($!)
  writer_pids+=($!)
done
started=$(now_ms)
sleep 1.5
# On a slow machine, give the writers up to 15 s to reach the minimum.
while [ "$(acknowledged)" -lt "$min_acknowledged" ] && [ $(($(now_ms) - started)) -lt 15000 ]; do
  sleep 0.1
done
before_kill=$(acknowledged)
# (bash reports the killed job on its stderr: not an error here)
{
  kill -KILL "$gateway_pid"
  killed_at=$(now_ms)
  wait "$gateway_pid" || true
} 2>/dev/null
forget_pid "$gateway_pid"
for n in $(seq "$writers"); do
  kill -TERM "$(cat "$work/writer.$n.pid")" 2>/dev/null || true
done
for pid in "${writer_pids[@]}"; do
  wait "$pid" || true
  forget_pid "$pid"
done
acked=$(acknowledged)
echo "acknowledged writes: $before_kill counted just before the SIGKILL after" \
  "$((killed_at - started)) ms, $acked in all"
[ "$acked" -ge "$min_acknowledged" ] ||
  fail "only $acked writes were acknowledged before the kill (at least $min_acknowledged needed)"
[ "$(cat "$work"/acked.* | awk '{print $2}' | sort | uniq -d | wc -l)" -eq 0 ] ||
  fail "the gateway acknowledged two writes with the same id"

# ---- restart on the same data ---------------------------------------------------------------------
restart_at=$(now_ms)
launch gateway2
ready=0
for _ in $(seq 200); do
  if curl -sS --max-time 2 -f "http://127.0.0.1:$gateway_port/ready" >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.05
done
[ $ready = 1 ] || fail "the restarted gateway does not answer /ready"
echo "ok: restarted and ready in $(($(now_ms) - restart_at)) ms"

# Every acknowledged server, by id, in one curl run (one file per id).
mkdir "$work/got"
config="$work/get.curl"
: >"$config"
while read -r name id; do
  printf 'url = "http://127.0.0.1:%s/servers/%s"\noutput = "%s/got/%s.json"\n' \
    "$gateway_port" "$id" "$work" "$id" >>"$config"
done < <(cat "$work"/acked.*)
curl -sS --max-time 120 -K "$config" -w '%{http_code}\n' >"$work/get.codes" ||
  fail "reading the acknowledged servers back failed"
found=0
missing=()
while read -r name id; do
  file="$work/got/$id.json"
  body=
  [ -f "$file" ] && body=$(<"$file")
  if [[ $body == *"\"id\":\"$id\""* && $body == *"\"name\":\"$name\""* ]]; then
    found=$((found + 1))
  else
    missing+=("$name $id: ${body:0:200}")
  fi
done < <(cat "$work"/acked.*)
listed=$(curl -sS --max-time 30 -f "http://127.0.0.1:$gateway_port/servers?limit=0" |
  grep -o '"endpoints":' | wc -l) || fail "GET /servers?limit=0 failed"
echo "acknowledged: $acked, found by id: $found, listed: $listed"
if [ ${#missing[@]} -gt 0 ]; then
  printf '  lost: %s\n' "${missing[@]:0:20}" >&2
  fail "${#missing[@]} of $acked acknowledged writes are missing or wrong after the SIGKILL"
fi
echo "ok: every acknowledged server is there, with its name"
[ "$listed" -ge "$acked" ] || fail "GET /servers lists $listed servers, fewer than the $acked acknowledged"
echo "ok: $listed servers listed (>= $acked acknowledged; the rest were in flight at the kill)"

if [ "$backend" = sqlite ]; then
  integrity=$(sqlite3 "$work/data/forge.db" 'PRAGMA integrity_check') ||
    fail "sqlite3 could not check $work/data/forge.db"
  [ "$integrity" = ok ] || fail "PRAGMA integrity_check: $integrity"
  echo "ok: PRAGMA integrity_check: ok"
fi

# The restarted gateway still takes writes.
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"server":{"name":"after-restart"}}' "http://127.0.0.1:$gateway_port/servers")
[ "$code" = 201 ] || fail "POST /servers after the restart answered $code"
echo "ok: writes work after the restart"
