#!/usr/bin/env bash
# Runs the benchmarks against a private PostgreSQL (build/pgbench) and prints
# their figures. Benchmarks are measurements, not pass/fail tests.
#   tests/bench/run.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
PGTEST_URL=$("$top/deploy/pg-private.sh" start "$build/pgbench")
export PGTEST_URL
trap '"$top/deploy/pg-private.sh" stop "$build/pgbench"' EXIT
for b in "$build"/tests/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
