-- Identifiers compare as bytes. Event ids, idempotency keys, request keys,
-- provider post ids, account ids and external ids are opaque strings that
-- are only ever looked up for equality, yet they used the database's default
-- collation, so every btree comparison went through strcoll: 8-10 % of
-- PostgreSQL's CPU at webhook intake. COLLATE "C" compares with memcmp.
--
-- The columns keep their type, so no table is rewritten; the indexes on them
-- are rebuilt (a large calendar spends a while here, once). Statistics of
-- the altered columns are dropped by ALTER TYPE and gathered again below,
-- but only for tables that have rows: an empty table that was never
-- analysed is planned by its real size, one analysed empty is planned as
-- empty, and sessions would cache sequential scans of webhook_events.
-- Where such a column meets a value of the default collation (a query
-- parameter), the column's collation wins, so queries keep using the indexes.

ALTER TABLE posts
    ALTER COLUMN external_id TYPE text COLLATE "C";

ALTER TABLE post_targets
    ALTER COLUMN account_id TYPE text COLLATE "C",
    ALTER COLUMN provider_post_id TYPE text COLLATE "C",
    ALTER COLUMN idempotency_key TYPE text COLLATE "C",
    ALTER COLUMN request_ref TYPE text COLLATE "C";

ALTER TABLE webhook_events
    ALTER COLUMN provider TYPE text COLLATE "C",
    ALTER COLUMN event_id TYPE text COLLATE "C",
    ALTER COLUMN reference TYPE text COLLATE "C",
    ALTER COLUMN provider_post_id TYPE text COLLATE "C",
    ALTER COLUMN account_id TYPE text COLLATE "C";

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM posts) THEN
        ANALYZE posts, post_targets;
    END IF;
    IF EXISTS (SELECT 1 FROM webhook_events) THEN
        ANALYZE webhook_events;
    END IF;
END $$;
