-- Cancels scheduled targets (postpace cancel, POST /v1/targets/cancel), as
-- actor $1, and records it in operator_actions in the same statement (not on
-- a dry run, $2 true, which changes nothing). The selector: target $3, post
-- $4, key id or label $5, provider $6, error code $7, updated_at from $8 to
-- $9 (epoch ms); NULL: no condition (postpace_operator_targets). At most $10
-- targets are listed, each with its status once the statement is done.
--
-- Only a scheduled target is cancelled: nothing has left for it, or what
-- left was refused or never reached the provider. Targets in flight are
-- matched and refused, each saying why: publishing and submitted have a
-- request out or accepted, and unconfirmed one whose fate is unknown (a
-- webhook may still say it is live, which a cancelled target could not
-- show). Final targets (failed included) are not matched: nothing would
-- send them again.
WITH cand AS MATERIALIZED (
    SELECT t.id, t.post_id, t.status
      FROM postpace_operator_targets('{scheduled,publishing,submitted,unconfirmed}', $3::bigint,
                                     $4::bigint, $5::text, $6::text, $7::text,
                                     to_timestamp($8::double precision / 1000),
                                     to_timestamp($9::double precision / 1000)) t
), moved AS (
    UPDATE post_targets t
       SET status = 'cancelled', due_at = NULL, updated_at = now()
      FROM cand c
     WHERE t.id = c.id AND c.status = 'scheduled' AND NOT $2::boolean
       AND t.status = 'scheduled'  -- again on the row: a claim may have taken it meanwhile
    RETURNING t.id
), audit AS (
    INSERT INTO operator_actions (actor, action, subject)
    SELECT $1, 'cancel',
           jsonb_strip_nulls(jsonb_build_object(
               'target_id', $3::bigint, 'post_id', $4::bigint, 'key', $5::text,
               'provider', $6::text, 'error_code', $7::text,
               'since', to_timestamp($8::double precision / 1000),
               'until', to_timestamp($9::double precision / 1000),
               'target_ids', coalesce((SELECT jsonb_agg(m.id ORDER BY m.id) FROM moved m), '[]'),
               'refused', (SELECT count(*) FROM cand c WHERE c.id NOT IN (SELECT id FROM moved))))
     WHERE NOT $2::boolean
), listed AS (
    SELECT c.id, c.post_id,
           CASE WHEN m.id IS NOT NULL THEN 'cancelled' ELSE c.status::text END AS status,
           CASE WHEN m.id IS NOT NULL OR ($2::boolean AND c.status = 'scheduled')
                THEN 'cancelled' ELSE 'refused' END AS action,
           CASE WHEN m.id IS NOT NULL OR ($2::boolean AND c.status = 'scheduled') THEN NULL
                WHEN c.status = 'scheduled' THEN 'it changed meanwhile: claimed for sending'
                WHEN c.status = 'publishing' THEN 'in flight: claimed, its request is leaving'
                WHEN c.status = 'submitted'
                THEN 'in flight: the provider accepted it; its webhook settles it'
                ELSE 'in flight: its request left and its fate is unknown; a webhook or a '
                     'lookup settles it'
           END AS reason
      FROM cand c
      LEFT JOIN moved m ON m.id = c.id
)
SELECT json_build_object(
           'dry_run', $2::boolean,
           'matched', (SELECT count(*) FROM cand),
           'done', (SELECT count(*) FROM listed WHERE action = 'cancelled'),
           'truncated', (SELECT count(*) FROM cand) > $10::integer,
           'targets', coalesce((SELECT json_agg(json_strip_nulls(row_to_json(l)) ORDER BY l.id)
                                  FROM (SELECT * FROM listed ORDER BY id LIMIT $10::integer) l),
                               '[]'))::text;
