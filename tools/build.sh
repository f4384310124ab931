#!/usr/bin/env bash
# Configures and builds Forge with CMake and Ninja.
#   tools/build.sh [BUILD_DIR] [extra cmake arguments...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-"$root/build"}
shift || true
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFORGE_WERROR=ON "$@" >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
