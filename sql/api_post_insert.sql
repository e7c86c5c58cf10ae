-- api: inserts one checked post; the posts_expand trigger makes its targets.
-- $1 external_id (NULL: none), $2 key id, $3 account_ids, $4 content,
-- $5 media, $6 scheduled_at, $7 time_zone. No row back: a post with this
-- external_id was created since the check (the caller checks again).
INSERT INTO posts (external_id, provider_key_id, account_ids, content, media, scheduled_at, time_zone)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (external_id) DO NOTHING
RETURNING id
