-- For each key, when its earliest scheduled target is due (NULL: none).
SELECT k, (SELECT (extract(epoch FROM t.next_attempt_at) * 1000)::bigint
             FROM post_targets t
            WHERE t.provider_key_id = k AND t.status = 'scheduled'
            ORDER BY t.next_attempt_at, t.id
            LIMIT 1)
  FROM unnest($1::bigint[]) AS k;
