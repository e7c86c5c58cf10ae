-- api: after PATCH changed the accounts of post $1 (nothing of it sent):
-- drops the targets of accounts no longer named and adds one for each new
-- account, as posts_expand would have.
WITH gone AS (
    DELETE FROM post_targets t
     USING posts p
     WHERE p.id = $1 AND t.post_id = p.id AND NOT (t.account_id = ANY (p.account_ids))
)
INSERT INTO post_targets (post_id, provider_key_id, account_id, next_attempt_at)
SELECT p.id, p.provider_key_id, a, p.scheduled_at
  FROM posts p
 CROSS JOIN unnest(p.account_ids) AS a
 WHERE p.id = $1
   AND NOT EXISTS (SELECT 1 FROM post_targets t WHERE t.post_id = p.id AND t.account_id = a)
