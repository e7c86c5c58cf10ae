-- import: inserts the good rows, each key's in time order: post ids, and so
-- target ids, then follow the due index's order, and the targets' three
-- indexes are each written near their right edge instead of at random
-- places (a fifth of a fresh calendar's expansion). Run under a savepoint:
-- a post whose external_id another writer committed since the check makes
-- it fail with unique_violation, and import_insert_race.sql runs instead.
-- (ON CONFLICT here would cost every row a speculative insertion: 8% of
-- the insert.)
INSERT INTO posts (external_id, provider_key_id, account_ids, content, media, scheduled_at, time_zone)
SELECT external_id, key_id, accounts, content, media, scheduled_at, time_zone
  FROM import_checked
 WHERE cardinality(errors) = 0 AND NOT present
 ORDER BY key_id, scheduled_at, line
