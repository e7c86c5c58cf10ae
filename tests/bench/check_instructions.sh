#!/usr/bin/env bash
# Instructions PostgreSQL executes to check one staged import row
# (sql/import_check.sql), counted by callgrind on a single-user server: the
# import's own cost over the plain-SQL path, in a figure that does not drift
# with the machine. For comparing builds or variants, not for absolute speed.
#
#   tests/bench/check_instructions.sh [BUILD_DIR] [ROWS] [TREE]
#
# Builds a cluster of its own in a temporary folder, migrates it with the
# build's postpace, and fills a table shaped like import_stage with ROWS
# (default 50,000) rows as the reader stages bench_import.sh's file: two
# accounts, a 150-character text, a media file on every fourth row, local
# times in three zones, no repeated id. Then, under callgrind, the staging
# table is filled and analyzed as the import does, once alone and once
# followed by the check; the difference, per row, is the check. The check,
# the staging table and the session settings are TREE's sql/ (default: this
# tree), so that an older build is measured with its own (a column TREE's
# staging table lacks is left out). Needs valgrind; takes about a minute.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rows=${2:-50000}
tree=$(cd "${3:-$top}" && pwd)
. "$top/tests/bench/single_user.sh"
su_setup check_instructions "${1:-$top/build}"
psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO provider_keys (provider, label, secret_ref)
VALUES ('jestha', 'jes-main', 'env:JES'), ('feedhorizon', 'fh-main', 'env:FH');
SQL
# The rows the reader would stage, as text (every column any version of the
# staging table had), and a view of them cast to TREE's staging table: the
# casts stand for COPY's work, counted with the staging, not the check.
psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE stage_src (
    line bigint NOT NULL, broken boolean NOT NULL, bad integer NOT NULL, errors text,
    external_id text, provider_key text, account_ids text, content text, media text,
    scheduled_at text, sched_local text, sched_offset text, time_zone text,
    accounts_twice boolean NOT NULL, twin_of bigint,
    media_look boolean, media_bytes bigint, media_types text);
SQL
sed -e 's/CREATE TEMP TABLE import_stage/CREATE TABLE stage_shape/' -e 's/) ON COMMIT DROP/)/' \
  "$tree/sql/import_stage_create.sql" | psql "$url" -q -v ON_ERROR_STOP=1
psql "$url" -q -v ON_ERROR_STOP=1 -v rows="$rows" <<'SQL'
INSERT INTO stage_src
SELECT i + 1, false, 0, NULL, 'cal-' || lpad(i::text, 7, '0'),
       CASE WHEN i % 2 = 1 THEN 'jes-main' ELSE 'fh-main' END,
       format('{"acct_%s","acct_%s"}', i % 50, i % 50 + 50),
       'Launch week, day by day: what we shipped, what we learned, and what is next for the team '
       'and for you. Read the whole story on our blog today! #' || i,
       CASE WHEN i % 4 = 0 THEN format('[{"url":"https://cdn.example/i/%s.jpg",'
                                       '"mime_type":"image/jpeg","size_bytes":123456}]', i) END,
       l, l || ':00.000000', NULL, (ARRAY['Europe/Paris', 'America/New_York', 'UTC'])[i % 3 + 1],
       false, NULL,
       CASE WHEN i % 4 = 0 THEN false END, CASE WHEN i % 4 = 0 THEN 123456 END,
       CASE WHEN i % 4 = 0 THEN '{"image/jpeg"}' END
  FROM generate_series(1, :rows) i,
       LATERAL (SELECT format('2027-%s-%s %s:%s', lpad((i % 12 + 1)::text, 2, '0'),
                              lpad((i % 28 + 1)::text, 2, '0'), lpad((9 + i % 8)::text, 2, '0'),
                              lpad((i % 60)::text, 2, '0')) AS l) t;
SELECT string_agg(quote_ident(attname) || '::' || format_type(atttypid, atttypmod), ', '
                  ORDER BY attnum) AS cols
  FROM pg_attribute WHERE attrelid = 'stage_shape'::regclass AND attnum > 0 \gset
CREATE VIEW stage_view AS SELECT :cols FROM stage_src;
CHECKPOINT;
SQL
su_stop

count() { # with-check? -> instructions
  {
    echo "BEGIN;"
    sed -n '/^SELECT set_config/,$p' "$tree/sql/import_tune.sql"
    echo ";"
    sed -e 's/) ON COMMIT DROP/) ON COMMIT DROP;/' "$tree/sql/import_stage_create.sql"
    echo "INSERT INTO import_stage SELECT * FROM stage_view;"
    sed -n '/^ANALYZE/,$p' "$tree/sql/import_stage_analyze.sql"
    echo ";"
    if [ "$1" = check ]; then
      sed 's/\$1::boolean/false/' "$tree/sql/import_check.sql"
      echo ";"
      echo "SELECT 'rows = ' || count(*) || ', refused = ' || count(*) FILTER (WHERE cardinality(errors) > 0) FROM import_checked;"
    fi
    echo "ROLLBACK;"
  } >"$work/calls.sql"
  local n
  n=$(su_callgrind "$work/calls.sql" "$work/out" -j)
  if grep -q ERROR "$work/out"; then
    grep -m3 ERROR "$work/out" >&2
    exit 1
  fi
  echo "$n"
}
base=$(count stage-only)
all=$(count check)
grep -q "rows = $rows, refused = 0" "$work/out" || {
  echo "check_instructions: expected $rows rows, none refused:" >&2
  grep -m3 "rows =" "$work/out" >&2 || true
  exit 1
}
awk -v a="$all" -v b="$base" -v n="$rows" -v bld="${1:-build}" -v t="$tree" 'BEGIN {
  printf "check_instructions: %s (sql/ of %s), %d staged rows: %.1fk instructions a row for the check\n",
         bld, t, n, (a - b) / n / 1e3 }'
