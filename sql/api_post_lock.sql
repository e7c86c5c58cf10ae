-- api: PATCH's first step, inside its transaction. Locks post $1 and its
-- targets (the scheduler's claim skips locked rows, so none can leave while
-- the edit is under way) and returns what the edit starts from: key id,
-- account_ids, content, media, scheduled_at as UTC local time, time_zone,
-- and how many of its targets were claimed, tried or settled already
-- (anything but scheduled with no attempt). No row: no such post.
WITH targets AS (
    SELECT t.status, t.attempts FROM post_targets t WHERE postpace_target_of(t, $1) FOR UPDATE
)
SELECT p.provider_key_id, p.account_ids, p.content, p.media,
       to_char(p.scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), p.time_zone,
       (SELECT count(*) FILTER (WHERE status <> 'scheduled' OR attempts > 0) FROM targets)
  FROM posts p
 WHERE p.id = $1
   FOR UPDATE
