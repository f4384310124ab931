#!/usr/bin/env bash
# Build and run Forge's whole test suite: installs what is needed, builds Release with
# warnings as errors, and runs every test with ctest (ending with ctest's summary).
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
"$root/tools/install-deps.sh"
"$root/tools/build.sh" "$root/build"
cd "$root/build"
ctest --output-on-failure --parallel "$(nproc)" --timeout 300 "$@"
