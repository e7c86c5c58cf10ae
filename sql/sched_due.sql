-- For each key, when its earliest scheduled target is due (NULL: none, or
-- the key is paused). due_at is next_attempt_at while the target is
-- scheduled, else NULL.
SELECT k.id,
       CASE WHEN pk.paused_at IS NULL THEN
           (SELECT (extract(epoch FROM t.due_at) * 1000)::bigint
              FROM post_targets t
             WHERE t.provider_key_id = k.id AND t.due_at IS NOT NULL
             ORDER BY t.due_at, t.id
             LIMIT 1)
       END
  FROM unnest($1::bigint[]) AS k(id)
  JOIN provider_keys pk ON pk.id = k.id;
