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
. "$top/tests/bench/single_user.sh"
su_setup expand_instructions "${1:-$top/build}" "${2:-}"
psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO provider_keys (provider, label, secret_ref) VALUES ('jestha', 'j', 'env:J'), ('feedhorizon', 'f', 'env:F');
CREATE TABLE st AS
SELECT i, 'cal-' || i AS ext, i % 2 + 1 AS k, ARRAY['acct_' || i % 50, 'acct_' || i % 50 + 50] AS acc,
       repeat('x', 150) || i AS c, timestamptz '2027-01-01' + (i * 7919 % 31536000) * interval '1 s' AS at
  FROM generate_series(1, 12000) i;
CHECKPOINT;
SQL
su_stop

count() { # POSTS [no-expand] -> instructions of a single-user server inserting them
  local n
  {
    if [ "${2:-}" = no-expand ]; then
      echo "CREATE OR REPLACE FUNCTION postpace_posts_expand() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"
    fi
    echo "INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at) SELECT ext, k, acc, c, at FROM st WHERE i <= $1"
    echo "SELECT count(*) AS targets FROM post_targets"
  } >"$work/calls.sql"
  n=$(su_callgrind "$work/calls.sql" "$work/out")
  local want=$(( $1 * 2 )); [ "${2:-}" = no-expand ] && want=0
  if ! grep -q "targets = \"$want\"" "$work/out"; then
    echo "expand_instructions: expected $want targets:" >&2
    grep -m3 "ERROR\|targets =" "$work/out" >&2 || true
    exit 1
  fi
  echo "$n"
}
all_few=$(count 2000); all_many=$(count 12000)
posts_few=$(count 2000 no-expand); posts_many=$(count 12000 no-expand)
awk -v a="$all_few" -v b="$all_many" -v c="$posts_few" -v d="$posts_many" \
    -v v="${2:-as migrated}" -v bld="${1:-build}" 'BEGIN {
  all = (b - a) / 10000; posts = (d - c) / 10000
  printf "expand_instructions: %s (%s), per post of two accounts: %.0fk instructions in all, " \
         "%.0fk the post alone, %.0fk its expansion (%.0fk a target)\n",
         bld, v, all / 1e3, posts / 1e3, (all - posts) / 1e3, (all - posts) / 2e3 }'
