-- Examines at most $2 pending events received in the last $1 seconds, after
-- the cursor ($3, $4, $5; NULLs: from the start), and applies those that now
-- match a target. Returns applied, next_at, next_provider, next_event: how
-- many it applied and the cursor for the next pass (NULLs: start over).
SELECT applied, next_at, next_provider, next_event
  FROM postpace_sweep_pending($1::integer, $2::integer, $3::timestamptz, $4::text, $5::text)
