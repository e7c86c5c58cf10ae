#!/usr/bin/env bash
# Import benchmark: a generated N-row CSV calendar (default 1,000,000 rows,
# ~244 MB, two accounts a row) written into the calendar three ways, side by
# side, each into a fresh database:
#   postpace import   streams, checks every row, reports per line;
#   plain SQL         what a database-driven user would do instead: `psql
#                     \copy` into a staging table, then one INSERT ... SELECT
#                     into posts, whose triggers expand the targets (its
#                     phases: copy, the INSERT, and the posts_expand trigger's
#                     INSERT inside it);
#   psql \copy        into an unindexed text table (the floor of reading).
# Prints wall time and peak RSS of each. A measurement, not a pass/fail test.
#
# Then the write floor: the rows the import produced, already checked and
# typed, dumped and loaded back with `psql \copy` into empty tables shaped
# like posts and post_targets (the same columns, indexes, checks, defaults
# and generated columns; no triggers). No import can write the calendar in
# less: it is the cost of the tables themselves, before any reading,
# validation or expansion of accounts into targets.
#
#   tests/bench/bench_import.sh [BUILD_DIR] [ROWS]
#
# Uses a private cluster under BUILD_DIR/pgbench-import (started and stopped here).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
rows=${2:-1000000}
bin=$build/postpace
work=$(mktemp -d /tmp/pp-bench-import.XXXXXX)
pgdir=$build/pgbench-import
trap '"$top/deploy/pg-private.sh" stop "$pgdir"; rm -rf "$work"' EXIT

cluster=$("$top/deploy/pg-private.sh" start "$pgdir")
db="${cluster/dbname=postgres/dbname=bench_import}"
fresh_db() { # name: a migrated database with the two keys; prints its conninfo
  local url="${cluster/dbname=postgres/dbname=$1}"
  psql -qX "$cluster" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  DATABASE_URL=$url "$bin" migrate 2>/dev/null
  psql -qX "$url" -c "INSERT INTO provider_keys (provider, label, secret_ref) VALUES
                      ('jestha', 'jes-main', 'env:JES'), ('feedhorizon', 'fh-main', 'env:FH')"
  echo "$url"
}
db=$(fresh_db bench_import)

# ~244 bytes a row: two accounts, a 150-character text, one media file on
# every fourth row, local times in three zones (none in a DST gap or overlap).
csv=$work/calendar.csv
awk -v n="$rows" 'BEGIN {
  print "external_id,provider_key,account_ids,content,media,scheduled_at,time_zone"
  split("Europe/Paris America/New_York UTC", tz, " ")
  text = "Launch week, day by day: what we shipped, what we learned, and what is next for the team and for you. Read the whole story on our blog today!"
  for (i = 1; i <= n; i++) {
    media = (i % 4 == 0) ? "\"[{\"\"url\"\":\"\"https://cdn.example/i/" i ".jpg\"\",\"\"mime_type\"\":\"\"image/jpeg\"\",\"\"size_bytes\"\":123456}]\"" : ""
    printf "cal-%07d,%s,acct_%d;acct_%d,\"%s #%d\",%s,2027-%02d-%02dT%02d:%02d:00,%s\n", i, (i % 2 ? "jes-main" : "fh-main"), i % 50, i % 50 + 50, text, i, media, i % 12 + 1, i % 28 + 1, 9 + i % 8, i % 60, tz[i % 3 + 1]
  }
}' > "$csv"
echo "file: $rows rows, $(( $(stat -c %s "$csv") / 1000000 )) MB"

measure() { # label command...: wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err" || true
  read -r wall rss < "$work/time"
  printf '%-28s wall %7.2f s   peak RSS %6.1f MiB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}

psql -qX "$db" -c "CREATE TABLE floor (external_id text, provider_key text, account_ids text,
                   content text, media text, scheduled_at text, time_zone text)"
measure "psql \\copy (floor)" psql -qX "$db" -c "\\copy floor FROM '$csv' WITH (FORMAT csv, HEADER true)"
# The import's phases, from the server's log: each statement's duration
# (log_min_duration_statement), and the posts_expand trigger's INSERT, a
# statement nested in the insert (auto_explain, plans not analyzed: no cost
# to the statements measured).
log="$("$top/deploy/pg-private.sh" data "$pgdir")/server.log"
phase_log="-c log_min_duration_statement=0 -c session_preload_libraries=auto_explain
  -c auto_explain.log_min_duration=0 -c auto_explain.log_nested_statements=on"
import_phases() { # log offset before the run
  tail -c +$(( $1 + 1 )) "$log" | awk -v overhead="$work/overhead" '
    function took(what) { printf "  %-26s %7.2f s\n", what, d / 1000 }
    function own() { o += d / 1000; printf "%.3f\n", o > overhead }
    match($0, /duration: [0-9.]+ ms/) { d = substr($0, RSTART + 10, RLENGTH - 13) + 0; plan = /plan:$/; next_is_plan = plan }
    !/^\t/ && !/duration:/ { next }
    /(statement|execute <unnamed>): -- import: the rows of import_stage/ { took("stage (COPY)"); own() }
    /execute <unnamed>: -- import: statistics/ { took("ANALYZE staging"); own() }
    /execute <unnamed>: -- import: validates/ { took("check"); own() }
    /execute <unnamed>: -- import: how the checked rows split/ { took("counts"); own() }
    /execute <unnamed>: -- import: inserts the good rows/ { took("insert"); expand() }
    /execute <unnamed>: -- import: import_insert.sql once/ { took("insert (race variant)"); expand() }
    function expand() { if (e != "") { d = e; took("  of which posts_expand") } e = "" }
    next_is_plan && /Query Text: INSERT INTO post_targets/ { e = d; next_is_plan = 0 }
    /statement: COMMIT/ { took("commit") }'
}
psql -qX "$db" -c "CHECKPOINT"
offset=$(stat -c %s "$log")
measure "postpace import" env DATABASE_URL="$db" PGOPTIONS="$phase_log" "$bin" import "$csv"
import_s=$wall
tail -n 1 "$work/out"
grep -v '^import: ' "$work/err" | head -n 5 || true
import_phases "$offset"
measure "postpace import (re-import)" env DATABASE_URL="$db" "$bin" import "$csv"
tail -n 1 "$work/out"
psql -qXAt "$db" -c "SELECT 'posts ' || count(*) FROM posts" -c "SELECT 'targets ' || count(*) FROM post_targets"

# Plain SQL, into a database of its own: the same rows, the same triggers.
sqldb=$(fresh_db bench_import_sql)
psql -qX "$sqldb" -c "CREATE TABLE staging (external_id text, provider_key text, account_ids text,
                      content text, media text, scheduled_at text, time_zone text)" -c "CHECKPOINT"
measure "plain SQL: \\copy staging" psql -qX "$sqldb" -c "\\copy staging FROM '$csv' WITH (FORMAT csv, HEADER true)"
copy_s=$wall
offset=$(stat -c %s "$log")
/usr/bin/time -f "%e %M" -o "$work/time" env PGOPTIONS="$phase_log" psql -qXAt "$sqldb" -c "
  INSERT INTO posts (external_id, provider_key_id, account_ids, content, media, scheduled_at, time_zone)
  SELECT s.external_id, k.id, string_to_array(s.account_ids, ';'), s.content,
         coalesce(nullif(s.media, '')::jsonb, '[]'), s.scheduled_at::timestamp AT TIME ZONE s.time_zone,
         s.time_zone
    FROM staging s JOIN provider_keys k ON k.label = s.provider_key"
read -r insert_s _ < "$work/time"
expand_s=$(tail -c +$(( offset + 1 )) "$log" | awk '
  match($0, /duration: [0-9.]+ ms/) { d = substr($0, RSTART + 10, RLENGTH - 13) + 0 }
  /Query Text: INSERT INTO post_targets/ { printf "%.2f", d / 1000 }')
printf '%-28s wall %7.2f s   (of which the posts_expand trigger %s s)\n' "plain SQL: INSERT ... SELECT" \
  "$insert_s" "${expand_s:-?}"
printf '%-28s wall %7.2f s\n' "plain SQL: total" "$(echo "$copy_s + $insert_s" | bc -l)"
printf '%-28s %7.2f x\n' "import / plain SQL" "$(echo "$import_s / ($copy_s + $insert_s)" | bc -l)"
# The two INSERTs are the same statement, and it is where a run's time
# swings most (by a third between runs on the development box). Matched: the
# import's own work (stage, ANALYZE, check, counts) in place of the plain
# path's \copy, the rest of the plain path as it ran.
own_s=$(tail -n 1 "$work/overhead")
printf '%-28s %7.2f x   (the import'"'"'s own work %.2f s against \\copy'"'"'s %.2f s)\n' \
  "import / plain, INSERT matched" "$(echo "($insert_s + $own_s) / ($copy_s + $insert_s)" | bc -l)" \
  "$own_s" "$copy_s"
psql -qXAt "$sqldb" -c "SELECT 'plain SQL rows: posts ' || (SELECT count(*) FROM posts)
                               || ', targets ' || (SELECT count(*) FROM post_targets)"
psql -qX "$cluster" -c "DROP DATABASE bench_import_sql"

# The write floor (see the top). The dumps are not timed; the loads are.
psql -qX "$db" -c "\\copy (SELECT id, external_id, provider_key_id, account_ids, content, media,
                   scheduled_at, time_zone FROM posts) TO '$work/posts.copy'" \
  -c "\\copy (SELECT id, post_id, provider_key_id, account_id, next_attempt_at
                FROM post_targets) TO '$work/targets.copy'" \
  -c "CREATE TABLE shape_posts (LIKE posts INCLUDING ALL)" \
  -c "CREATE TABLE shape_targets (LIKE post_targets INCLUDING ALL)" -c "CHECKPOINT"
measure "write floor: posts" psql -qX "$db" -c "\\copy shape_posts (id, external_id,
  provider_key_id, account_ids, content, media, scheduled_at, time_zone) FROM '$work/posts.copy'"
# (the generated due_at is computed by the load, as by an insert.)
measure "write floor: targets" psql -qX "$db" -c "\\copy shape_targets (id, post_id,
  provider_key_id, account_id, next_attempt_at) FROM '$work/targets.copy'"
psql -qXAt "$db" -c "SELECT 'write floor rows: posts ' || (SELECT count(*) FROM shape_posts)
                            || ', targets ' || (SELECT count(*) FROM shape_targets)"
