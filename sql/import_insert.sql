-- import: inserts the good rows. No ORDER BY: sorting a big file's checked
-- rows (by line, or by due time so that the targets' indexes are written in
-- order) spilled to disk and cost more than any order saved, ~1 s of
-- 200,000 rows; they go in as the check wrote them. Run under a savepoint:
-- a post whose external_id another writer committed since the check makes
-- it fail with unique_violation, and import_insert_race.sql runs instead
-- (ON CONFLICT here would cost every row a speculative insertion, ~8% of
-- the insert).
INSERT INTO posts (external_id, provider_key_id, account_ids, content, media, scheduled_at, time_zone)
SELECT external_id, key_id, accounts, content, media, scheduled_at, time_zone
  FROM import_checked
 WHERE cardinality(errors) = 0 AND NOT present
