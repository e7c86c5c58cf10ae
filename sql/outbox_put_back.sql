-- Makes claimed rows due again at once, their attempt uncounted: the
-- dispatcher stopped before they were answered. (They may have reached the
-- subscriber: delivery is at least once.)
UPDATE outbox
   SET next_attempt_at = now(), attempts = greatest(attempts - 1, 0)
 WHERE id = ANY ($1::bigint[]) AND state = 'pending';
