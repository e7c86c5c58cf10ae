-- import: import_insert.sql once another writer has added one of the posts
-- since the check (rare): that post is left alone, the others inserted.
INSERT INTO posts (external_id, provider_key_id, account_ids, content, media, scheduled_at, time_zone)
SELECT external_id, key_id, accounts, content, media, scheduled_at, time_zone
  FROM import_checked
 WHERE cardinality(errors) = 0 AND NOT present
ON CONFLICT (external_id) DO NOTHING
