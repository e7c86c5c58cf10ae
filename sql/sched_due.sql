-- For each key, when its earliest scheduled target is due (NULL: none).
-- due_at is next_attempt_at while the target is scheduled, else NULL.
SELECT k, (SELECT (extract(epoch FROM t.due_at) * 1000)::bigint
             FROM post_targets t
            WHERE t.provider_key_id = k AND t.due_at IS NOT NULL
            ORDER BY t.due_at, t.id
            LIMIT 1)
  FROM unnest($1::bigint[]) AS k;
