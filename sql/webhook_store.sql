-- Stores a batch of verified webhook events; a replay or duplicate of an
-- event already stored is skipped. Returns the events that are new.
INSERT INTO webhook_events (provider, event_id, event_type, payload, reference,
                            provider_post_id, account_id)
SELECT provider, event_id, event_type, payload::jsonb, reference, provider_post_id, account_id
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
       AS e(provider, event_id, event_type, payload, reference, provider_post_id, account_id)
ON CONFLICT (provider, event_id) DO NOTHING
RETURNING provider, event_id;
