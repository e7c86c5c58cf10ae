-- Applies pending events received in the last $1 seconds that now match a
-- target (at most $2 of them); returns how many (migration 0015).
SELECT postpace_sweep_pending($1::integer, $2::integer)
