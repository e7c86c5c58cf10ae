-- Records the request about to leave and the key it carries.
WITH a AS (
    INSERT INTO attempts (provider_key_id, target_ids, route, units, sent_at, accounts, posts, instance)
    VALUES ($1, $2::bigint[], $3, 1, to_timestamp($4::double precision / 1000), cardinality($2::bigint[]), 1, $5)
    RETURNING id
), r AS (
    UPDATE post_targets SET request_ref = $6 WHERE id = ANY ($2::bigint[])
)
SELECT id FROM a;
