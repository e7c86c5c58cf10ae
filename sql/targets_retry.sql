-- Retries failed targets (postpace retry, POST /v1/targets/retry), as actor
-- $1, and records it in operator_actions in the same statement (not on a dry
-- run, $2 true, which changes nothing). The selector: target $4, post $5,
-- key id or label $6, provider $7, error code $8, updated_at from $9 to $10
-- (epoch ms); NULL: no condition (postpace_operator_targets). At most $11
-- targets are listed, each with its status once the statement is done (a
-- dry run: as it is). $3 (force) also retries the targets at risk.
--
-- The safety rule (README "Retrying and cancelling"). A failed target is
-- safe to send again when nothing the provider did with it could have
-- created a post: no provider post id, no post.failed webhook settled it
-- (last_error.source 'webhook'), and none of the requests that carried it
-- was accepted (outcome 'ok': a 2xx whose body failed this account), may
-- have been acted on ('unknown': a 5xx, a timeout, a connection lost after
-- sending), or left without its answer being recorded ('pending'). What
-- remains is safe: never sent ('retryable' that never left, a quota spent
-- before the slot, no attempt at all), or refused before creation (a 4xx:
-- 'permanent', 'rate_limited'). A retried target is scheduled, due now, with
-- its idempotency key and its attempts count kept: it is sent once more.
WITH cand AS MATERIALIZED (
    SELECT t.id, t.post_id, t.provider_key_id, t.provider_post_id, t.last_error
      FROM postpace_operator_targets('{failed}', $4::bigint, $5::bigint, $6::text, $7::text,
                                     $8::text, to_timestamp($9::double precision / 1000),
                                     to_timestamp($10::double precision / 1000)) t
), sent AS (
    -- What the requests that carried the candidates say, read key by key
    -- from the posts' creation on (a request leaves after its post is
    -- written; a day of margin for the clocks of the instances).
    SELECT c.id, bool_or(a.outcome = 'ok') AS ok, bool_or(a.outcome = 'unknown') AS unknown,
           bool_or(a.outcome = 'pending') AS pending
      FROM attempts a
     CROSS JOIN LATERAL unnest(a.target_ids) AS x(id)
      JOIN cand c ON c.id = x.id
     WHERE a.provider_key_id IN (SELECT DISTINCT provider_key_id FROM cand)
       AND a.sent_at >= (SELECT min(p.created_at) - interval '1 day'
                           FROM posts p WHERE p.id IN (SELECT post_id FROM cand))
       AND a.outcome IN ('ok', 'unknown', 'pending')
     GROUP BY c.id
), judged AS MATERIALIZED (
    SELECT c.id, c.post_id,
           CASE WHEN c.provider_post_id IS NOT NULL
                THEN 'double-post risk: the provider created post ' || c.provider_post_id
                WHEN c.last_error ->> 'source' = 'webhook'
                THEN 'double-post risk: a post.failed webhook settled it, so the provider had a post'
                WHEN s.ok
                THEN 'double-post risk: the provider accepted a request for it (2xx)'
                WHEN s.unknown
                THEN 'double-post risk: a request for it may have created a post (5xx, timeout or '
                     'connection lost after sending)'
                WHEN s.pending
                THEN 'double-post risk: a request for it left and its answer was never recorded'
           END AS risk
      FROM cand c
      LEFT JOIN sent s ON s.id = c.id
), chosen AS (
    SELECT j.id FROM judged j WHERE j.risk IS NULL OR $3::boolean
), moved AS (
    UPDATE post_targets t
       SET status = 'scheduled', next_attempt_at = now(), due_at = now(), lease_owner = NULL,
           lease_expires_at = NULL, updated_at = now()
      FROM chosen c
     WHERE t.id = c.id AND NOT $2::boolean
       AND t.status = 'failed'  -- again on the row: it may have moved meanwhile
    RETURNING t.id
), audit AS (
    INSERT INTO operator_actions (actor, action, subject)
    SELECT $1, 'retry',
           jsonb_strip_nulls(jsonb_build_object(
               'target_id', $4::bigint, 'post_id', $5::bigint, 'key', $6::text,
               'provider', $7::text, 'error_code', $8::text,
               'since', to_timestamp($9::double precision / 1000),
               'until', to_timestamp($10::double precision / 1000),
               'force', $3::boolean,
               'target_ids', coalesce((SELECT jsonb_agg(m.id ORDER BY m.id) FROM moved m), '[]'),
               'refused', (SELECT count(*) FROM judged j WHERE j.id NOT IN (SELECT id FROM moved))))
     WHERE NOT $2::boolean
), listed AS (
    SELECT j.id, j.post_id,
           CASE WHEN m.id IS NOT NULL THEN 'scheduled' ELSE 'failed' END AS status,
           CASE WHEN m.id IS NOT NULL OR ($2::boolean AND c.id IS NOT NULL) THEN 'retried'
                ELSE 'refused' END AS action,
           CASE WHEN m.id IS NOT NULL OR ($2::boolean AND c.id IS NOT NULL) THEN NULL
                WHEN c.id IS NOT NULL THEN 'it changed meanwhile: no longer failed'
                ELSE j.risk || '; force retries it' END AS reason
      FROM judged j
      LEFT JOIN moved m ON m.id = j.id
      LEFT JOIN chosen c ON c.id = j.id
)
SELECT json_build_object(
           'dry_run', $2::boolean,
           'matched', (SELECT count(*) FROM judged),
           'done', (SELECT count(*) FROM listed WHERE action = 'retried'),
           'truncated', (SELECT count(*) FROM judged) > $11::integer,
           'targets', coalesce((SELECT json_agg(json_strip_nulls(row_to_json(l)) ORDER BY l.id)
                                  FROM (SELECT * FROM listed ORDER BY id LIMIT $11::integer) l),
                               '[]'))::text;
