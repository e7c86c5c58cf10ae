-- Adds a subscription as actor $1: URL $2, secret reference $3, event types
-- $4 (text[], empty: all), provider $5 and key $6 (id or label; NULL: any),
-- recorded in operator_actions. Returns its id, or no row when the key
-- names no key.
WITH k AS (
    SELECT (SELECT id FROM provider_keys
             WHERE id::text = $6 OR label = $6 ORDER BY id LIMIT 1) AS key_id
), added AS (
    INSERT INTO subscriptions (url, secret_ref, event_types, provider, key_id)
    SELECT $2, $3, $4::text[], $5, k.key_id FROM k
     WHERE $6::text IS NULL OR k.key_id IS NOT NULL
    RETURNING id, url, event_types, provider, key_id
), audit AS (
    INSERT INTO operator_actions (actor, action, subject)
    SELECT $1, 'subscribe', jsonb_strip_nulls(to_jsonb(added)) FROM added
)
SELECT id FROM added;
