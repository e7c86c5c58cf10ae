-- api: DELETE: cancels the targets of post $1 still waiting to be sent
-- (scheduled; one the scheduler has claimed meanwhile is no longer
-- scheduled and stays as it is). One row: whether the post exists, how many
-- targets this cancelled, and how many were not cancelled before.
WITH cancelled AS (
    UPDATE post_targets t SET status = 'cancelled', due_at = NULL, updated_at = now()
     WHERE postpace_target_of(t, $1) AND t.status = 'scheduled'
    RETURNING t.id
)
SELECT EXISTS (SELECT 1 FROM posts WHERE id = $1),
       (SELECT count(*) FROM cancelled),
       (SELECT count(*) FROM post_targets t WHERE postpace_target_of(t, $1) AND t.status <> 'cancelled')
