-- Records the requests about to leave: request i (1-based) of key $1[i] on
-- route $2[i] with request key $3[i]; target $5[j] belongs to request $4[j].
-- All sent at $6 (epoch ms) by instance $7. Returns each attempts row's id
-- with the request's first target (which names the request).
WITH req AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY
                  AS r(key_id, route, ref, i)
), tgt AS (
    SELECT * FROM unnest($4::int[], $5::bigint[]) AS t(i, target_id)
), a AS (
    INSERT INTO attempts (provider_key_id, target_ids, route, units, sent_at, accounts, posts,
                          instance)
    SELECT r.key_id, ids.target_ids, r.route, 1, to_timestamp($6::double precision / 1000),
           cardinality(ids.target_ids), 1, $7
      FROM req r
     CROSS JOIN LATERAL (SELECT array_agg(t.target_id ORDER BY t.target_id) AS target_ids
                           FROM tgt t WHERE t.i = r.i) ids
    RETURNING id, target_ids[1] AS first_target
), refs AS (
    UPDATE post_targets p SET request_ref = r.ref
      FROM tgt t JOIN req r ON r.i = t.i
     WHERE p.id = t.target_id
)
SELECT id, first_target FROM a;
