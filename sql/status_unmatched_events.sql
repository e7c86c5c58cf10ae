-- The newest stored webhook events that match no target, for `postpace
-- status`: provider, event id, type as sent, why (unreadable: no verdict or
-- no id; no_target: no target carries its ids yet), received, and the
-- totals of all of them (unmatched, unreadable).
SELECT w.provider, w.event_id, coalesce(w.raw_type, '-'),
       CASE WHEN w.event_type IS NULL OR (w.reference IS NULL AND w.provider_post_id IS NULL)
            THEN 'unreadable' ELSE 'no_target' END,
       to_char(w.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       count(*) OVER (),
       count(*) FILTER (WHERE w.event_type IS NULL
                           OR (w.reference IS NULL AND w.provider_post_id IS NULL)) OVER ()
  FROM webhook_events w
 WHERE w.applied_at IS NULL
 ORDER BY w.received_at DESC, w.provider, w.event_id
 LIMIT 10;
