-- How long until the next claimable outbox row is due, in ms (NULL: none).
SELECT greatest(0, ceil(extract(epoch FROM min(o.due_at) - now()) * 1000))::bigint
  FROM outbox o
 WHERE o.due_at IS NOT NULL
   AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = o.subscription_id AND s.enabled);
