-- Targets never tried and overdue beyond the catch-up window ($1 ms) expire
-- instead of going out hours late. (due_at: next_attempt_at while scheduled.)
UPDATE post_targets
   SET status = 'expired', updated_at = now(),
       last_error = jsonb_build_object('code', 'expired', 'message',
                                       'overdue beyond the catch-up window')
 WHERE due_at < now() - make_interval(secs => $1::double precision / 1000)
   AND attempts = 0;
