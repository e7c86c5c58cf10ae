-- api: one page of posts in (scheduled_at, id) order, after the cursor.
-- $1 target status (a post matches when any of its targets has it), $2
-- provider, $3 key (id or label), $4 / $5 scheduled_at from (inclusive) /
-- to (exclusive) in epoch ms, $6 / $7 the cursor: the last row's
-- scheduled_at in epoch µs and id, $8 how many rows, $9 updated since
-- (epoch ms: the post or any of its targets changed at or after it; what a
-- page polls with, on top of a scheduled_at range). NULL: no filter.
-- Each row: id, scheduled_at in epoch µs (for the next cursor).
SELECT p.id, (extract(epoch FROM p.scheduled_at) * 1000000)::bigint
  FROM posts p
  JOIN provider_keys k ON k.id = p.provider_key_id
 WHERE ($1::text IS NULL OR EXISTS (SELECT 1 FROM post_targets t
                                     WHERE postpace_target_of(t, p.id) AND t.status::text = $1))
   AND ($2::text IS NULL OR k.provider = $2)
   AND ($3::text IS NULL OR k.id::text = $3 OR k.label = $3)
   AND ($4::bigint IS NULL OR p.scheduled_at >= to_timestamp(0) + $4::bigint * interval '1 millisecond')
   AND ($5::bigint IS NULL OR p.scheduled_at < to_timestamp(0) + $5::bigint * interval '1 millisecond')
   AND ($6::bigint IS NULL
        OR (p.scheduled_at, p.id) > (to_timestamp(0) + $6::bigint * interval '1 microsecond', $7::bigint))
   AND ($9::bigint IS NULL
        OR p.updated_at >= to_timestamp(0) + $9::bigint * interval '1 millisecond'
        OR EXISTS (SELECT 1 FROM post_targets t
                    WHERE postpace_target_of(t, p.id)
                      AND t.updated_at >= to_timestamp(0) + $9::bigint * interval '1 millisecond'))
 ORDER BY p.scheduled_at, p.id
 LIMIT $8
