#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzzer.cc) with clang, ASan and UBSan in build-fuzz/, and
# runs them for a bounded time, each on a copy of its seed corpus fuzz/corpus/NAME/ for
# NAME_fuzzer (the repository's corpus is never grown).
#   tools/fuzz.sh [SECONDS] [TARGET|all] [extra libFuzzer flags...]
# SECONDS (default 60) is the total: with every target (the default, or "all") each one runs for
# an equal share, at least 1 second. TARGET is a fuzzer name such as jwt_fuzzer (or just "jwt").
# Exits non-zero when a fuzzer finds a crash, a sanitizer report or a violated property; the
# crashing input is kept and printed (base64). Works from any directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
all=()
for source in "$root"/fuzz/*_fuzzer.cc; do
  all+=("$(basename "$source" .cc)")
done
usage() {
  echo "usage: tools/fuzz.sh [SECONDS] [TARGET|all] [libFuzzer flags...]" >&2
  echo "targets: ${all[*]}" >&2
  exit 2
}
seconds=${1:-60}
shift || true
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || usage
fuzzers=("${all[@]}")
# A second argument that is not a libFuzzer flag (-flag=value) names the target.
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  target=$1
  shift
  if [ "$target" != all ]; then
    [[ "$target" == *_fuzzer ]] || target="${target}_fuzzer"
    [ -f "$root/fuzz/$target.cc" ] || usage
    fuzzers=("$target")
  fi
fi
share=$((seconds / ${#fuzzers[@]}))
[ "$share" -gt 0 ] || share=1

command -v clang++ >/dev/null || {
  echo "fuzz: clang++ not found; run tools/install-deps.sh (clang, libclang-rt-14-dev)" >&2
  exit 1
}

build_dir="$root/build-fuzz"

echo "== fuzz: building ${fuzzers[*]} in $build_dir"
CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFORGE_FUZZ=ON -DFORGE_BUILD_TESTS=OFF -DFORGE_WERROR=OFF >/dev/null
# Only the fuzzers and the libraries they link, not the whole tree.
targets=()
for fuzzer in "${fuzzers[@]}"; do
  targets+=(--target "$fuzzer")
done
cmake --build "$build_dir" "${targets[@]}" --parallel "$(nproc)"

# run_fuzzer NAME [libFuzzer flags...]: returns the fuzzer's exit status.
run_fuzzer() {
  local fuzzer=$1
  shift
  local seeds="$root/fuzz/corpus/${fuzzer%_fuzzer}"
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/forge-fuzz.XXXXXX")
  mkdir "$work/corpus"
  if [ -d "$seeds" ]; then cp "$seeds"/* "$work/corpus/"; fi
  local seed_count
  seed_count=$(find "$work/corpus" -type f | wc -l)

  echo "== fuzz: running $fuzzer for ${share}s ($seed_count seeds, work dir $work)"
  local status=0
  (cd "$work" &&
    ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      "$build_dir/fuzz/$fuzzer" -max_total_time="$share" -rss_limit_mb=2048 -timeout=30 \
      -print_final_stats=1 -artifact_prefix="$work/" "$@" "$work/corpus") || status=$?

  echo "== fuzz: $fuzzer corpus grew from $seed_count to $(find "$work/corpus" -type f | wc -l) inputs"
  if [ "$status" -ne 0 ]; then
    echo "== fuzz: $fuzzer FAILED (exit $status); work dir kept: $work" >&2
    for artifact in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      [ -f "$artifact" ] || continue
      echo "   $artifact (base64): $(base64 -w0 "$artifact")" >&2
      echo "   reproduce: $build_dir/fuzz/$fuzzer $artifact" >&2
    done
    return "$status"
  fi
  rm -rf "$work"
}

failed=()
first_status=0
for fuzzer in "${fuzzers[@]}"; do
  status=0
  run_fuzzer "$fuzzer" "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    failed+=("$fuzzer")
    [ "$first_status" -ne 0 ] || first_status=$status
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "== fuzz: FAILED: ${failed[*]}" >&2
  exit "$first_status"
fi
echo "== fuzz: no crash in ${fuzzers[*]} (${share}s each)"
