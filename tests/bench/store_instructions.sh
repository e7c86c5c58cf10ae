#!/usr/bin/env bash
# Instructions PostgreSQL executes per webhook batch stored by
# postpace_store_events, counted by callgrind on a single-user server: a
# figure that does not drift with the machine, where timings on this box
# drift by ±10% over minutes. For comparing two versions of the intake SQL
# (a change of a few percent shows plainly), not for absolute speed.
#
#   tests/bench/store_instructions.sh [BATCH] [VARIANT.sql] [BUILD_DIR]
#
# Builds a cluster of its own in a temporary folder (deploy/pg-private.sh), migrates it with the
# build's postpace, writes 20,000 submitted targets (the webhook benchmark's
# shape), applies VARIANT.sql if given (say, another CREATE OR REPLACE
# FUNCTION postpace_store_events), then runs 10 and then 70 calls of BATCH
# matched events (default 24) each under callgrind and reports the
# difference per call and per event: start-up and first-call planning cancel
# out. The calls go through psql-style text arrays, so array_in is counted
# (about 14k instructions per event) where the daemon sends binary arrays.
# Needs valgrind. Takes about a minute.
set -euo pipefail
batch=${1:-24}
variant=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${3:-$top/build}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
command -v valgrind >/dev/null || { echo "store_instructions: needs valgrind" >&2; exit 1; }
[ -z "$variant" ] || variant=$(cd "$(dirname "$variant")" && pwd)/$(basename "$variant")

work=$(mktemp -d /tmp/pp-instr.XXXXXX)
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
psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO provider_keys (provider, label, secret_ref) VALUES ('feedhorizon', 'k', 'env:K');
INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at)
SELECT 1, '{acct}', 'post ' || g, now() FROM generate_series(1, 20000) g;
UPDATE post_targets SET status = 'submitted', attempts = 1,
       request_ref = 'ref-' || post_id, provider_post_id = 'p' || post_id;
SQL
[ -z "$variant" ] || psql "$url" -q -v ON_ERROR_STOP=1 -f "$variant" >/dev/null
psql "$url" -qc "VACUUM ANALYZE post_targets" -qc "CHECKPOINT"
"$top/deploy/pg-private.sh" stop "$work"

# CALLS statements, each storing BATCH events that match targets 1, 2, ...
calls() {
  awk -v b="$batch" -v n="$1" 'BEGIN {
    q = "\""; ev = 1
    for (k = 0; k < n; k++) {
      p = e = t = y = r = i = a = ""
      for (j = 0; j < b; j++) {
        s = j ? "," : ""
        p = p s "feedhorizon"; e = e s "x-" ev; t = t s "post.published"
        y = y s q "{\\" q "type\\" q ":\\" q "post.published\\" q ",\\" q "data\\" q ":{\\" q \
            "reference\\" q ":\\" q "ref-" ev "\\" q "}}" q
        r = r s "ref-" ev; i = i s "p" ev; a = a s "NULL"
        ev++
      }
      x = "'\''"
      printf "SELECT count(*) FROM postpace_store_events(%s);\n", \
        x "{" p "}" x "," x "{" e "}" x "," x "{" t "}" x "," x "{" y "}" x "," \
        x "{" r "}" x "," x "{" i "}" x "," x "{" a "}" x
    }
  }'
}
count() { # CALLS -> instructions of a single-user server running them
  rm -rf "$work/run"
  cp -a "$data" "$work/run"
  calls "$1" >"$work/calls.sql"
  [ "$(id -u)" = 0 ] && chown -R postgres "$work/run" "$work/calls.sql"
  as_owner valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bindir/postgres" --single -D "$work/run" instr <"$work/calls.sql" >"$work/out" 2>"$work/vg"
  if [ "$(grep -c "count = \"$batch\"" "$work/out")" != "$1" ]; then
    echo "store_instructions: the calls did not each store $batch events:" >&2
    grep -m3 "ERROR\|count =" "$work/out" >&2 || true
    exit 1
  fi
  grep -o "summary: [0-9]*" "$work/cg.out" | awk '{print $2}'
}
few=$(count 10)
many=$(count 70)
awk -v a="$few" -v b="$many" -v n="$batch" -v v="${variant:-as migrated}" 'BEGIN {
  d = (b - a) / 60
  printf "store_instructions: %s, batches of %d: %.3fM instructions per batch, %.1fk per event\n",
         v, n, d / 1e6, d / n / 1e3 }'
