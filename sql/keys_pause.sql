-- Pauses ($2 true) or resumes ($2 false) the enabled keys named by $3 (a key
-- id or label; NULL: any) of provider $4 (NULL: any), as actor $1, and
-- records the action in operator_actions in the same statement. A key
-- already so is counted as touched, its paused_at kept. Returns every key
-- named: id, provider, label, paused.
WITH keys AS (
    UPDATE provider_keys k
       SET paused_at = CASE WHEN $2::boolean THEN coalesce(k.paused_at, now()) END
     WHERE k.enabled
       AND ($3::text IS NULL OR k.id::text = $3 OR k.label = $3)
       AND ($4::text IS NULL OR k.provider = $4)
    RETURNING k.id, k.provider, k.label, k.paused_at IS NOT NULL AS paused
), audit AS (
    INSERT INTO operator_actions (actor, action, subject)
    SELECT $1, CASE WHEN $2::boolean THEN 'pause' ELSE 'resume' END,
           jsonb_strip_nulls(jsonb_build_object('key', $3::text, 'provider', $4::text,
                                                'key_ids', jsonb_agg(id ORDER BY id)))
      FROM keys
    HAVING count(*) > 0
)
SELECT id, provider, label, paused FROM keys ORDER BY id;
