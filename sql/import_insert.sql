-- import: inserts the good rows in file order. The posts_expand trigger makes
-- their targets; a post whose external_id appeared meanwhile is left alone.
INSERT INTO posts (external_id, provider_key_id, account_ids, content, media, scheduled_at, time_zone)
SELECT external_id, key_id, accounts, content, media, scheduled_at, time_zone
  FROM import_checked
 WHERE cardinality(errors) = 0 AND NOT present
 ORDER BY line
ON CONFLICT (external_id) DO NOTHING
