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
[ -z "$variant" ] || variant=$(cd "$(dirname "$variant")" && pwd)/$(basename "$variant")
. "$top/tests/bench/single_user.sh"
su_setup store_instructions "${3:-$top/build}"
psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO provider_keys (provider, label, secret_ref) VALUES ('feedhorizon', 'k', 'env:K');
INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at)
SELECT 1, '{acct}', 'post ' || g, now() FROM generate_series(1, 20000) g;
UPDATE post_targets SET status = 'submitted', attempts = 1,
       request_ref = 'ref-' || post_id, provider_post_id = 'p' || post_id;
SQL
[ -z "$variant" ] || psql "$url" -q -v ON_ERROR_STOP=1 -f "$variant" >/dev/null
psql "$url" -qc "VACUUM ANALYZE post_targets" -qc "CHECKPOINT"
su_stop

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
  local n
  calls "$1" >"$work/calls.sql"
  n=$(su_callgrind "$work/calls.sql" "$work/out")
  if [ "$(grep -c "count = \"$batch\"" "$work/out")" != "$1" ]; then
    echo "store_instructions: the calls did not each store $batch events:" >&2
    grep -m3 "ERROR\|count =" "$work/out" >&2 || true
    exit 1
  fi
  echo "$n"
}
few=$(count 10)
many=$(count 70)
awk -v a="$few" -v b="$many" -v n="$batch" -v v="${variant:-as migrated}" 'BEGIN {
  d = (b - a) / 60
  printf "store_instructions: %s, batches of %d: %.3fM instructions per batch, %.1fk per event\n",
         v, n, d / 1e6, d / n / 1e3 }'
