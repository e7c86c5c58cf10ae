-- Targets never tried and overdue beyond the catch-up window ($1 ms) expire
-- instead of going out hours late. Key by key, each reading one short range
-- of post_targets_key_due (due_at: next_attempt_at while scheduled; the
-- only index of due targets, see migrations/0001_baseline.sql); OFFSET 0 keeps the lookup per key, where the
-- planner, guessing a third of all targets overdue, would scan them all.
UPDATE post_targets t
   SET status = 'expired', due_at = NULL, updated_at = now(),
       last_error = jsonb_build_object('code', 'expired', 'message',
                                       'overdue beyond the catch-up window')
  FROM provider_keys k
 CROSS JOIN LATERAL (
       SELECT o.id
         FROM post_targets o
        WHERE o.provider_key_id = k.id
          AND o.due_at < now() - make_interval(secs => $1::double precision / 1000)
       OFFSET 0) d
 WHERE t.id = d.id
   -- Again on t itself: a row changed meanwhile (claimed, rescheduled,
   -- cancelled) is checked again in its new version, and d is not.
   AND t.due_at < now() - make_interval(secs => $1::double precision / 1000)
   AND t.attempts = 0;
