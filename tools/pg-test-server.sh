#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, entirely inside one directory.
#   tools/pg-test-server.sh start DIR   initialises a cluster in DIR, starts it on 127.0.0.1 at
#                                       a free port (trust auth, from 127.0.0.1 only), creates
#                                       the database forge_test and prints its URL:
#                                       postgresql://postgres@127.0.0.1:PORT/forge_test
#   tools/pg-test-server.sh stop DIR    stops that cluster and removes DIR
# Uses Debian's server binaries (/usr/lib/postgresql/<version>/bin, the newest; PG_BIN overrides).
# As root (initdb refuses to run as root) the server runs as the `postgres` user.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
dir=$2
[ -n "$dir" ] || usage

fail() {
  echo "pg-test-server: $*" >&2
  exit 1
}

pg_bin=${PG_BIN:-}
if [ -z "$pg_bin" ]; then
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$candidate/initdb" ] && pg_bin=$candidate
  done
fi
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] ||
  fail "no PostgreSQL server binaries under /usr/lib/postgresql (install the postgresql package)"

as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || fail "running as root needs the 'postgres' user to run the server"
  as_server_user=(runuser -u postgres --)
fi
# pg_ctl ... as the user that owns the cluster; from / so that a cwd it cannot read is no issue.
run() { (cd / && "${as_server_user[@]}" "$@"); }

marker=forge-pg-test-server
data=
log=

show_log() {
  if [ -f "$log" ]; then
    echo "pg-test-server: ---- last lines of $log" >&2
    tail -n 40 "$log" >&2
  fi
}

stop_server() {
  if [ -f "$data/postmaster.pid" ]; then
    run "$pg_bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >>"$log" 2>&1 </dev/null || return 1
  fi
}

case "$action" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -z "$(ls -A "$dir")" ] || fail "$dir is not empty"
  data=$dir/data
  log=$dir/postgres.log
  touch "$dir/$marker"
  if [ ${#as_server_user[@]} -gt 0 ]; then
    chown postgres: "$dir"
    chmod 0700 "$dir"
    # The server user must be able to reach DIR: make its parent traversable (not readable).
    parent=$(dirname "$dir")
    [ "$parent" = / ] || chmod a+x "$parent"
    runuser -u postgres -- test -x "$dir" ||
      fail "the postgres user cannot reach $dir: make every directory above it traversable"
  fi
  run touch "$log"

  on_failure() {
    show_log
    stop_server || true
  }

  if ! run "$pg_bin/initdb" -D "$data" -U postgres --auth=reject --encoding=UTF8 --locale=C \
    --no-sync >>"$log" 2>&1 </dev/null; then
    on_failure
    fail "initdb failed"
  fi
  # Only TCP from 127.0.0.1, trusted; the socket lives in DIR (when its path fits in a
  # sockaddr_un) and is not usable for logins.
  socket_dir=$dir/socket
  if [ ${#socket_dir} -gt 80 ]; then socket_dir=""; else run mkdir "$socket_dir"; fi
  run tee "$data/pg_hba.conf" >/dev/null <<EOF
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  trust
EOF
  run tee -a "$data/postgresql.conf" >/dev/null <<EOF

# tools/pg-test-server.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
fsync = on
max_connections = 40
shared_buffers = 32MB
logging_collector = off
EOF

  # A free port: probe from a random start with bash's /dev/tcp (a refused connection means
  # nothing listens); another process may still take it first, so a failed start moves on.
  port=
  candidate=$((20000 + RANDOM % 30000))
  for _ in $(seq 20); do
    candidate=$((candidate + 1 + RANDOM % 50))
    if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then continue; fi
    if run "$pg_bin/pg_ctl" -D "$data" -l "$log" -o "-p $candidate" -w -t 60 start \
      >>"$log" 2>&1 </dev/null; then
      port=$candidate
      break
    fi
    # Anything but a port already taken is a real failure.
    if ! tail -n 20 "$log" | grep -q "could not bind\|Address already in use"; then
      on_failure
      fail "the server did not start"
    fi
  done
  if [ -z "$port" ]; then
    on_failure
    fail "found no free port"
  fi

  if ! run "$pg_bin/pg_isready" -h 127.0.0.1 -p "$port" -t 30 >>"$log" 2>&1 </dev/null; then
    on_failure
    fail "the server does not accept connections"
  fi
  if ! run "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres forge_test >>"$log" 2>&1 \
    </dev/null; then
    on_failure
    fail "createdb forge_test failed"
  fi
  echo "postgresql://postgres@127.0.0.1:$port/forge_test"
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  # Only ever a directory this script made: never a system cluster.
  [ -f "$dir/$marker" ] || fail "$dir was not made by $0; not touching it"
  data=$dir/data
  log=$dir/postgres.log
  status=0
  if ! stop_server; then
    show_log
    status=1
  fi
  rm -rf "$dir"
  exit $status
  ;;
*)
  usage
  ;;
esac
