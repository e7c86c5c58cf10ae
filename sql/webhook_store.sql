-- Stores a batch of verified webhook events and applies the new ones, in one
-- statement (its own transaction: committed before the result comes back).
-- A replay or duplicate of an event already stored is skipped. Returns the
-- events that are new. Parallel arrays: provider, event id, verdict type
-- (NULL: none), payload, reference, provider post id, account, raw type,
-- signing key id.
SELECT provider, event_id
  FROM postpace_store_events($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::text[], $9::text[]::bigint[]);
