-- Replays deliveries as actor $1: the one with id $2, or ($3 true) every
-- dead one, of subscription $4 (NULL: any). Each is due at once with a new
-- retry period, its webhook-id unchanged; the action is recorded in
-- operator_actions in the same statement. Returns the ids replayed.
WITH replayed AS (
    UPDATE outbox o
       SET state = 'pending', next_attempt_at = now(), retry_from = now(), delivered_at = NULL
     WHERE (o.id = $2::bigint OR ($3::boolean AND o.state = 'dead'))
       AND ($4::bigint IS NULL OR o.subscription_id = $4)
    RETURNING o.id
), audit AS (
    INSERT INTO operator_actions (actor, action, subject)
    SELECT $1, 'replay',
           jsonb_strip_nulls(jsonb_build_object('id', $2::bigint, 'dead', $3::boolean,
                                                'subscription', $4::bigint,
                                                'ids', jsonb_agg(id ORDER BY id)))
      FROM replayed
    HAVING count(*) > 0
)
SELECT id FROM replayed ORDER BY id;
