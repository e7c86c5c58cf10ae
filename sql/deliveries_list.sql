-- Outgoing webhook deliveries, newest first, as one JSON array: state $1
-- (NULL: any), subscription $2 (NULL: any), post $3 (NULL: any), at most $4.
SELECT coalesce(jsonb_agg(d ORDER BY d.id DESC), '[]')::text
  FROM (SELECT o.id, o.subscription_id, o.event_type AS type, o.state, o.attempts,
               o.created_at, o.key_id, o.post_id, o.target_id,
               CASE WHEN o.state = 'pending' THEN o.next_attempt_at END AS next_attempt_at,
               o.last_status, o.last_error, o.delivered_at
          FROM outbox o
         WHERE ($1::text IS NULL OR o.state = $1)
           AND ($2::bigint IS NULL OR o.subscription_id = $2)
           AND ($3::bigint IS NULL OR o.post_id = $3)
         ORDER BY o.id DESC
         LIMIT $4::integer) d;
