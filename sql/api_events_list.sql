-- Stored webhook events that match no target (GET /v1/events): state $1 is
-- 'unmatched' (all of them) or 'unreadable' (those postpace cannot read: no
-- verdict, or no id to match by); provider $2 (NULL: any); newest first, at
-- most $3. One JSON array, each event with its payload, so that an operator
-- sees the shape to configure (providers.webhook_fields).
SELECT coalesce(json_agg(e ORDER BY e.received_at DESC, e.provider, e.event_id), '[]')::text
  FROM (SELECT w.provider, w.event_id, w.raw_type AS type, w.event_type AS verdict,
               w.reference, w.provider_post_id, w.account_id, w.key_id,
               CASE WHEN w.event_type IS NULL
                         OR (w.reference IS NULL AND w.provider_post_id IS NULL)
                    THEN 'unreadable' ELSE 'no_target' END AS reason,
               w.received_at, w.payload
          FROM webhook_events w
         WHERE w.applied_at IS NULL
           AND ($1::text = 'unmatched' OR w.event_type IS NULL
                OR (w.reference IS NULL AND w.provider_post_id IS NULL))
           AND ($2::text IS NULL OR w.provider = $2::text)
         ORDER BY w.received_at DESC, w.provider, w.event_id
         LIMIT $3::integer) e;
