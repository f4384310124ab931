#!/usr/bin/env bash
# Installs everything Forge needs to build, run and test on Debian 12: compiler and build
# tools, the C++ libraries (Debian packages only), the database servers the tests start, and
# the npm test tools. Safe to run again: it installs only what is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libpq-dev libsqlite3-dev libsodium-dev zlib1g-dev
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libjemalloc2 # forge's allocator (exe/CMakeLists.txt)
  clang libclang-rt-14-dev clang-format
  postgresql postgresql-client redis-server sqlite3 wrk valgrind # postgresql-client: pg_dump, pg_restore (forge backup)
  jq linux-perf # bench/run.sh: its report, the gateway's profile
)
# Node.js may come from another packaging of Node (which bundles npm); only add Debian's when
# there is none.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm test tools (MCP SDK, reference servers, conformance suite), pinned by the lock file.
if [ -f "$root/test/npm/package.json" ]; then
  if [ ! -d "$root/test/npm/node_modules" ] || [ "$root/test/npm/package-lock.json" -nt "$root/test/npm/node_modules" ]; then
    echo "install-deps: installing npm test tools"
    (cd "$root/test/npm" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
fi
