-- api: inserts a batch of checked posts under ids taken beforehand
-- (api_posts_ids), so each answer knows its post; the posts_expand trigger
-- makes their targets, and every statement trigger runs once for the batch.
-- One array entry per post: $1 id, $2 external_id (NULL: none), $3 key id,
-- $4 account_ids (each a text[] literal), $5 content, $6 media, $7
-- scheduled_at, $8 time_zone. Returns the ids inserted: a post whose
-- external_id another post took since the check (or took earlier in this
-- batch) is left out, and the caller checks it again.
INSERT INTO posts (id, external_id, provider_key_id, account_ids, content, media, scheduled_at,
                   time_zone)
OVERRIDING SYSTEM VALUE
SELECT u.id, u.external_id, u.key_id, u.accounts::text[], u.content, u.media, u.at, u.tz
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[],
              $7::timestamptz[], $8::text[])
       AS u(id, external_id, key_id, accounts, content, media, at, tz)
ON CONFLICT (external_id) DO NOTHING
RETURNING id
