-- Removes subscription $2 as actor $1 (its deliveries go with it: the
-- subscriptions_drop trigger), recorded in operator_actions. Returns its id.
WITH removed AS (
    DELETE FROM subscriptions WHERE id = $2::bigint RETURNING id, url
), audit AS (
    INSERT INTO operator_actions (actor, action, subject)
    SELECT $1, 'unsubscribe', jsonb_build_object('id', id, 'url', url) FROM removed
)
SELECT id FROM removed;
