-- api: after api_post_untarget: adds a target for each account of post $1
-- that has none, as posts_expand would have, in the post's free slots (ids
-- post × 128 + slot; the API refuses an account named twice, and at most
-- 100 of the 128 slots are taken), lowest first, in the accounts' order.
WITH post AS (
    SELECT p.id, p.provider_key_id, p.scheduled_at, p.account_ids
      FROM posts p
     WHERE p.id = $1::bigint
), new AS (
    SELECT a.account_id, row_number() OVER (ORDER BY a.pos) AS n
      FROM post, unnest(post.account_ids) WITH ORDINALITY AS a(account_id, pos)
     WHERE NOT EXISTS (SELECT 1 FROM post_targets t
                        WHERE postpace_target_of(t, post.id) AND t.account_id = a.account_id)
), free AS (
    SELECT post.id * 128 + s AS id, row_number() OVER (ORDER BY s) AS n
      FROM post, generate_series(0, 127) AS s
     WHERE NOT EXISTS (SELECT 1 FROM post_targets t WHERE t.id = post.id * 128 + s)
)
INSERT INTO post_targets (id, post_id, provider_key_id, account_id, next_attempt_at, due_at)
SELECT free.id, post.id, post.provider_key_id, new.account_id, post.scheduled_at, post.scheduled_at
  FROM post
  JOIN new ON true
  JOIN free ON free.n = new.n
