#!/usr/bin/env bash
# Builds the libFuzzer target (fuzz/) with clang, ASan and UBSan in build-fuzz/, and runs it for
# a bounded time on a copy of the seed corpus (the repository's corpus is never grown).
#   tools/fuzz.sh [SECONDS] [extra libFuzzer flags...]     (default 60 seconds)
# Exits non-zero when the fuzzer finds a crash, a sanitizer report or a violated property; the
# crashing input is kept and printed (base64). Works from any directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || {
  echo "usage: tools/fuzz.sh [SECONDS] [libFuzzer flags...]" >&2
  exit 2
}

command -v clang++ >/dev/null || {
  echo "fuzz: clang++ not found; run tools/install-deps.sh (clang, libclang-rt-14-dev)" >&2
  exit 1
}

build_dir="$root/build-fuzz"
fuzzer=mcp_message_fuzzer
seeds="$root/fuzz/corpus/mcp_message"

echo "== fuzz: building $fuzzer in $build_dir"
CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFORGE_FUZZ=ON -DFORGE_BUILD_TESTS=OFF -DFORGE_WERROR=OFF >/dev/null
# Only the fuzzer and the libraries it links, not the whole tree.
cmake --build "$build_dir" --target "$fuzzer" --parallel "$(nproc)"

work=$(mktemp -d "${TMPDIR:-/tmp}/forge-fuzz.XXXXXX")
mkdir "$work/corpus"
cp "$seeds"/* "$work/corpus/"
seed_count=$(find "$work/corpus" -type f | wc -l)

echo "== fuzz: running $fuzzer for ${seconds}s ($seed_count seeds, work dir $work)"
status=0
(cd "$work" &&
  ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$build_dir/fuzz/$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$work/" "$@" "$work/corpus") || status=$?

echo "== fuzz: corpus grew from $seed_count to $(find "$work/corpus" -type f | wc -l) inputs"
if [ "$status" -ne 0 ]; then
  echo "== fuzz: FAILED (exit $status); work dir kept: $work" >&2
  for artifact in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$artifact" ] || continue
    echo "   $artifact (base64): $(base64 -w0 "$artifact")" >&2
    echo "   reproduce: $build_dir/fuzz/$fuzzer $artifact" >&2
  done
  exit "$status"
fi
rm -rf "$work"
echo "== fuzz: no crash in ${seconds}s"
