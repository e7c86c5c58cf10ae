-- Records the requests about to leave: request i (1-based) of key $1[i] on
-- route $2[i], to leave at $5[i] (epoch ms: the slot it waits for); target
-- $4[j] belongs to request $3[j]. By instance $6. Returns each attempts
-- row's id with the request's smallest target id (which names the request).
-- The request key itself was set by the claim. sent_at becomes the moment it
-- really left when its answer is recorded (sched_finish_attempt.sql).
WITH req AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $5::bigint[]) WITH ORDINALITY
                  AS r(key_id, route, fire_ms, i)
), ids AS (
    SELECT t.i, array_agg(t.target_id ORDER BY t.target_id) AS target_ids
      FROM unnest($3::int[], $4::bigint[]) AS t(i, target_id)
     GROUP BY t.i
), a AS (
    INSERT INTO attempts (provider_key_id, target_ids, route, units, sent_at, accounts, posts,
                          instance)
    SELECT r.key_id, ids.target_ids, r.route, 1, to_timestamp(r.fire_ms::double precision / 1000),
           cardinality(ids.target_ids), 1, $6
      FROM req r JOIN ids ON ids.i = r.i
    RETURNING id, target_ids[1] AS first_target
)
SELECT id, first_target FROM a;
