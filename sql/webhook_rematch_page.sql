-- A page of provider $1's pending events (unmatched, readable or not) after
-- event id $2 ('' from the start), at most $3, in event id order (the
-- webhook_events_pending index): what a change of its webhook_fields reads
-- again. Returns event_id, key_id, payload.
SELECT event_id, key_id, payload::text
  FROM webhook_events
 WHERE provider = $1::text AND applied_at IS NULL AND event_id > $2::text
 ORDER BY event_id
 LIMIT $3::integer;
