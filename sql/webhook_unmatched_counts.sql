-- Stored events that match no target, per provider: all of them, and those
-- postpace cannot read (no verdict, or no id to match by). Read off the
-- pending index: its size is the cost.
SELECT provider, count(*) AS unmatched,
       count(*) FILTER (WHERE event_type IS NULL
                           OR (reference IS NULL AND provider_post_id IS NULL)) AS unreadable
  FROM webhook_events
 WHERE applied_at IS NULL
 GROUP BY provider;
