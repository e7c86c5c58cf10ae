-- Stored webhook events (GET /v1/events) in state $1: 'unmatched' (every
-- event applied to no target: the default, as before), 'pending' (the
-- readable ones among them, waiting for their target to be written or
-- re-matched), 'unreadable' (those postpace cannot read: no verdict, or no
-- id to match by), or 'matched' (applied to a target); provider $2 (NULL:
-- any); newest first, at most $3. One JSON array, each event with its state,
-- its target when matched, and its payload, so that an operator sees the
-- shape to configure (providers.webhook_fields). Unmatched events come off
-- the pending index; 'matched' reads every stored event of the provider (no
-- index orders them all by arrival, and intake would pay for one).
SELECT coalesce(json_agg(e ORDER BY e.received_at DESC, e.provider, e.event_id), '[]')::text
  FROM (SELECT w.provider, w.event_id, w.raw_type AS type, w.event_type AS verdict,
               w.reference, w.provider_post_id, w.account_id, w.key_id,
               CASE WHEN w.applied_at IS NOT NULL THEN 'matched'
                    WHEN w.event_type IS NULL
                         OR (w.reference IS NULL AND w.provider_post_id IS NULL)
                    THEN 'unreadable' ELSE 'pending' END AS state,
               CASE WHEN w.applied_at IS NOT NULL THEN w.target_id END AS target_id,
               CASE WHEN w.applied_at IS NOT NULL THEN NULL
                    WHEN w.event_type IS NULL
                         OR (w.reference IS NULL AND w.provider_post_id IS NULL)
                    THEN 'unreadable' ELSE 'no_target' END AS reason,
               w.received_at, w.applied_at, w.payload
          FROM webhook_events w
         WHERE CASE $1::text
                   WHEN 'matched' THEN w.applied_at IS NOT NULL
                   WHEN 'unmatched' THEN w.applied_at IS NULL
                   WHEN 'unreadable' THEN w.applied_at IS NULL
                        AND (w.event_type IS NULL
                             OR (w.reference IS NULL AND w.provider_post_id IS NULL))
                   ELSE w.applied_at IS NULL AND w.event_type IS NOT NULL
                        AND (w.reference IS NOT NULL OR w.provider_post_id IS NOT NULL)
               END
           AND ($2::text IS NULL OR w.provider = $2::text)
         ORDER BY w.received_at DESC, w.provider, w.event_id
         LIMIT $3::integer) e;
