-- Claims up to $1 outbox rows that are due, oldest due first, for one
-- attempt each: the attempt is counted and the row is hidden for $2 ms (the
-- request's timeout and a margin), so a dispatcher that dies mid-delivery
-- leaves it due again then (at least once), and two dispatchers never send
-- one row at once. Rows of a disabled subscription wait, unclaimed. Returns
-- each row's id, its subscription's URL and secret reference, the attempt
-- number, when its retry period began (epoch ms), and the body to send.
UPDATE outbox o
   SET attempts = o.attempts + 1,
       next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
  FROM (SELECT d.id
          FROM outbox d
         WHERE d.due_at <= now()
           AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = d.subscription_id AND s.enabled)
         ORDER BY d.due_at
         LIMIT $1::integer
           FOR UPDATE SKIP LOCKED) c,
       subscriptions s
 WHERE o.id = c.id AND s.id = o.subscription_id
RETURNING o.id, s.url, s.secret_ref, o.attempts,
          floor(extract(epoch FROM o.retry_from) * 1000)::bigint AS retry_from_ms,
          jsonb_build_object('type', o.event_type, 'timestamp', o.created_at, 'data', o.data)::text
              AS body;
