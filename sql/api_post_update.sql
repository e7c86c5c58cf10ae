-- api: PATCH's edit of post $1 (already checked and locked): $2 account_ids,
-- $3 content, $4 media, $5 scheduled_at, $6 time_zone. The posts_reschedule
-- trigger moves its untried targets to the new time.
UPDATE posts
   SET account_ids = $2, content = $3, media = $4, scheduled_at = $5, time_zone = $6,
       updated_at = now()
 WHERE id = $1
