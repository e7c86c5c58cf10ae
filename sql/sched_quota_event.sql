-- key.quota_exhausted for key $1 (data $2, once per $3: the window's kind
-- and when it reopens) into the outbox, for the subscriptions that want it.
SELECT postpace_key_event($1::bigint, 'key.quota_exhausted', $2::jsonb, $3::text);
