#!/usr/bin/env bash
# What one pending-event sweep pass costs when events for unknown posts pile
# up (issue: 105k signed events for unknown posts made each pass scan them
# all). Builds a cluster of its own, migrates it with the build's postpace,
# stores N pending events that match nothing (default 105,000) within the
# sweep window beside 20,000 submitted targets, then times passes of
# postpace_sweep_pending as the daemon runs them (budget 1,000, following
# the cursor) and, for comparison, one pass of the whole-window rule (every pending
# event of the window, kept here as a scratch function).
#
#   tests/bench/bench_sweep.sh [N] [BUILD_DIR]
set -euo pipefail
n=${1:-105000}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$top/build}
work=$(mktemp -d /tmp/pp-sweep.XXXXXX)
data=$("$top/deploy/pg-private.sh" data "$work")
cleanup() {
  [ -n "${KEEP:-}" ] && return
  "$top/deploy/pg-private.sh" kill "$work" >/dev/null 2>&1 || true
  rm -rf "$work" "$data"
}
trap cleanup EXIT
url=$("$top/deploy/pg-private.sh" start "$work")
psql "$url" -qc "CREATE DATABASE sweep"
url="${url/dbname=postgres/dbname=sweep}"
DATABASE_URL="$url" "$build/postpace" migrate >/dev/null 2>&1
psql "$url" -q -v ON_ERROR_STOP=1 -v n="$n" <<'SQL'
INSERT INTO provider_keys (provider, label, plan, secret_ref) VALUES ('jestha', 'je', 'default', 'env:X');
INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at)
SELECT 1, '{acct}', 'post ' || g, now() FROM generate_series(1, 20000) g;
UPDATE post_targets SET status = 'submitted', attempts = 1, provider_post_id = 'p-' || id;
INSERT INTO webhook_events (provider, event_id, event_type, payload, reference, received_at)
SELECT 'jestha', 'orphan-' || g, 'post.published', '{}'::jsonb, 'nobody-' || g,
       now() - interval '60 seconds' + g * interval '0.5 ms'
  FROM generate_series(1, :n) g;
VACUUM ANALYZE webhook_events;
-- The whole-window rule, for comparison.
CREATE FUNCTION scratch_sweep_all(p_window_s integer) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM webhook_events w
   WHERE w.applied_at IS NULL AND w.received_at > now() - make_interval(secs => p_window_s)
     AND EXISTS (SELECT 1 FROM postpace_event_targets(w))
$$;
SQL
echo "bench_sweep: $n pending events that match nothing, 20,000 submitted targets"
psql "$url" -qAt <<'SQL'
DO $$
DECLARE
    r record;
    at timestamptz;
    prov text;
    ev text;
    t0 timestamptz;
    passes integer := 20;
BEGIN
    PERFORM postpace_sweep_pending(300, 1000); -- plans it
    t0 := clock_timestamp();
    FOR i IN 1 .. passes LOOP
        SELECT * INTO r FROM postpace_sweep_pending(300, 1000, at, prov, ev);
        at := r.next_at; prov := r.next_provider; ev := r.next_event;
    END LOOP;
    RAISE NOTICE 'bench_sweep: budgeted pass (1,000 events, following the cursor): % ms each over % passes',
        round(extract(epoch FROM clock_timestamp() - t0) * 1000 / passes, 1), passes;
    t0 := clock_timestamp();
    PERFORM scratch_sweep_all(300);
    RAISE NOTICE 'bench_sweep: whole-window pass (the whole-window rule, JIT as configured): % ms',
        round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
    SET LOCAL jit = off;
    t0 := clock_timestamp();
    PERFORM scratch_sweep_all(300);
    RAISE NOTICE 'bench_sweep: whole-window pass (the whole-window rule, JIT off): % ms',
        round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
END $$;
SQL
