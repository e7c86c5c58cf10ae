-- Moves claimed targets on from publishing, one row per element of the
-- parallel arrays: id $1, status $2 (submitted | scheduled | unconfirmed |
-- failed), provider post id $3 (NULL: keep), next attempt $4 in epoch ms
-- (NULL: keep), error $5 (JSON object text, NULL: keep), $6 = 1 when the
-- attempt does not count (a 429). A no-op for a target a webhook (or a
-- takeover) already moved. Rows are locked in id order, as the webhook
-- writer locks them, so the two never deadlock.
WITH v AS MATERIALIZED (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[])
                  AS v(id, status, post_id, next_ms, error, uncount)
     ORDER BY id
), locked AS MATERIALIZED (
    SELECT v.*, coalesce(to_timestamp(v.next_ms::double precision / 1000), x.next_attempt_at) AS next_at
      FROM v
     CROSS JOIN LATERAL (SELECT t.next_attempt_at
                           FROM post_targets t
                          WHERE t.id = v.id AND t.status = 'publishing' AND t.lease_owner = $7
                            FOR UPDATE) x
)
UPDATE post_targets t
   SET status = v.status::target_status,
       provider_post_id = coalesce(v.post_id, t.provider_post_id),
       next_attempt_at = v.next_at,
       due_at = CASE WHEN v.status = 'scheduled' THEN v.next_at END,
       recheck_at = CASE WHEN v.status = 'unconfirmed' THEN v.next_at END,
       lease_lapses_at = NULL,
       last_error = coalesce(v.error::jsonb, t.last_error),
       attempts = t.attempts - v.uncount,
       lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
  FROM locked v
 -- No second look at status and lease: `locked` holds these rows, so they
 -- are as it found them; and with the filter here the planner, sure few
 -- rows are publishing, would walk them all once per id.
 WHERE t.id = v.id;
