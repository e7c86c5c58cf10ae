#!/usr/bin/env bash
# Instructions PostgreSQL executes to write one post and its targets,
# counted by callgrind on a single-user server: the cost of the calendar's
# write path in a figure that does not drift with the machine (timings on
# this box drift by a third from run to run). For comparing two builds or
# schema variants, not for absolute speed.
#
#   tests/bench/expand_instructions.sh [BUILD_DIR] [VARIANT.sql]
#
# Builds a cluster of its own in a temporary folder, migrates it with the
# build's postpace, applies VARIANT.sql if given, stages 12,000 posts of two
# accounts each (due times in no order, as bench_import's file has them),
# then counts under callgrind an INSERT ... SELECT of 2,000 and of 12,000 of
# them into posts (the plain-SQL path: posts_expand makes the targets), and
# the same with posts_expand emptied (the posts alone). Reports per post:
# the whole write, the posts alone, and the difference, the expansion (two
# targets). Start-up and planning cancel out in the differences. Needs
# valgrind; takes about two minutes.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
variant=${2:-}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
command -v valgrind >/dev/null || { echo "expand_instructions: needs valgrind" >&2; exit 1; }
[ -z "$variant" ] || variant=$(cd "$(dirname "$variant")" && pwd)/$(basename "$variant")

work=$(mktemp -d /tmp/pp-expand.XXXXXX)
data=$("$top/deploy/pg-private.sh" data "$work")
cleanup() {
  "$top/deploy/pg-private.sh" kill "$work" >/dev/null 2>&1 || true
  rm -rf "$work" "$data"
}
trap cleanup EXIT
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

url=$("$top/deploy/pg-private.sh" start "$work")
psql "$url" -qc "CREATE DATABASE instr"
url="${url/dbname=postgres/dbname=instr}"
DATABASE_URL="$url" "$build/postpace" migrate >/dev/null 2>&1
[ -z "$variant" ] || psql "$url" -q -v ON_ERROR_STOP=1 -f "$variant" >/dev/null
psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO provider_keys (provider, label, secret_ref) VALUES ('jestha', 'j', 'env:J'), ('feedhorizon', 'f', 'env:F');
CREATE TABLE st AS
SELECT i, 'cal-' || i AS ext, i % 2 + 1 AS k, ARRAY['acct_' || i % 50, 'acct_' || i % 50 + 50] AS acc,
       repeat('x', 150) || i AS c, timestamptz '2027-01-01' + (i * 7919 % 31536000) * interval '1 s' AS at
  FROM generate_series(1, 12000) i;
CHECKPOINT;
SQL
"$top/deploy/pg-private.sh" stop "$work"

count() { # POSTS [no-expand] -> instructions of a single-user server inserting them
  rm -rf "$work/run"
  cp -a "$data" "$work/run"
  {
    if [ "${2:-}" = no-expand ]; then
      echo "CREATE OR REPLACE FUNCTION postpace_posts_expand() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"
    fi
    echo "INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at) SELECT ext, k, acc, c, at FROM st WHERE i <= $1"
    echo "SELECT count(*) AS targets FROM post_targets"
  } >"$work/calls.sql"
  [ "$(id -u)" = 0 ] && chown -R postgres "$work/run" "$work/calls.sql"
  as_owner valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bindir/postgres" --single -D "$work/run" instr <"$work/calls.sql" >"$work/out" 2>"$work/vg"
  local want=$(( $1 * 2 )); [ "${2:-}" = no-expand ] && want=0
  if ! grep -q "targets = \"$want\"" "$work/out"; then
    echo "expand_instructions: expected $want targets:" >&2
    grep -m3 "ERROR\|targets =" "$work/out" >&2 || true
    exit 1
  fi
  grep -o "summary: [0-9]*" "$work/cg.out" | awk '{print $2}'
}
all_few=$(count 2000); all_many=$(count 12000)
posts_few=$(count 2000 no-expand); posts_many=$(count 12000 no-expand)
awk -v a="$all_few" -v b="$all_many" -v c="$posts_few" -v d="$posts_many" \
    -v v="${variant:-as migrated}" -v bld="$build" 'BEGIN {
  all = (b - a) / 10000; posts = (d - c) / 10000
  printf "expand_instructions: %s (%s), per post of two accounts: %.0fk instructions in all, " \
         "%.0fk the post alone, %.0fk its expansion (%.0fk a target)\n",
         bld, v, all / 1e3, posts / 1e3, (all - posts) / 1e3, (all - posts) / 2e3 }'
