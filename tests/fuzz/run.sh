#!/usr/bin/env bash
# Builds every libFuzzer target with clang in its own build directory and runs
# each for a bounded time over its checked-in corpus (copied first, so new
# inputs never land in the tree):
#
#   tests/fuzz/run.sh [SECONDS]     default 20 s per target (FUZZ_SECONDS also works)
#
# BUILD_DIR overrides the build directory (default build-fuzz/). Without clang
# it says so and exits 0: fuzzing is optional where clang is not installed.
# Exit status 1 when a target finds a crash (its reproducer is in the build dir).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
seconds=${1:-${FUZZ_SECONDS:-20}}
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang is not installed; skipping the fuzz targets" >&2
  exit 0
fi
build=${BUILD_DIR:-$top/build-fuzz}
cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER=clang -DPOSTPACE_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $targets >/dev/null
status=0
for t in $targets; do
  corpus_src="$top/tests/fuzz/corpus_${t#fuzz_}"
  corpus="$build/tests/fuzz/corpus-$t"
  mkdir -p "$corpus"
  [ -d "$corpus_src" ] && cp -n "$corpus_src"/* "$corpus"/ 2>/dev/null || true
  log="$build/tests/fuzz/$t.log"
  if (cd "$build/tests/fuzz" && ASAN_OPTIONS=detect_leaks=1 \
        ./"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$corpus" >"$log" 2>&1); then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    echo "fuzz: $t: ${runs:-?} runs in ${seconds}s, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) inputs: ok"
  else
    echo "fuzz: $t: FAILED (see $log)" >&2
    tail -n 30 "$log" >&2
    status=1
  fi
done
exit $status
