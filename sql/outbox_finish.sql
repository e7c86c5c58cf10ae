-- Records the answers of claimed deliveries, as parallel arrays: the row id,
-- the HTTP status (NULL: no answer), the error text (NULL: delivered), and
-- the delay before the next try in ms (NULL: delivered; -1: the retry
-- period is over, the row is dead).
UPDATE outbox o
   SET state = CASE WHEN r.delay_ms IS NULL THEN 'delivered'
                    WHEN r.delay_ms < 0 THEN 'dead' ELSE 'pending' END,
       next_attempt_at = CASE WHEN r.delay_ms > 0
                              THEN now() + make_interval(secs => r.delay_ms::double precision / 1000)
                              ELSE now() END,
       last_status = r.status,
       last_error = r.error,
       delivered_at = CASE WHEN r.delay_ms IS NULL THEN now() END
  FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::bigint[]) AS r(id, status, error, delay_ms)
 WHERE o.id = r.id AND o.state = 'pending';
