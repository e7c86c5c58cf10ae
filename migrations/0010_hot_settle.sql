-- A webhook settles its target with a HOT update: no index changes.
--
-- The scheduler's partial indexes were predicated on status, so PostgreSQL
-- counted status as an indexed column, and every status change (each webhook
-- moving submitted -> published) wrote a new entry into all five indexes of
-- post_targets: about a fifth of PostgreSQL's CPU at webhook intake. The
-- same indexes now key on generated columns that are set only in the status
-- they serve and NULL otherwise. A move between two statuses none of them
-- serves (submitted, published, failed, ...) leaves all three NULL, changes no
-- indexed column, and when the page has room is a heap-only tuple.
--
--   due_at           next_attempt_at while scheduled: what the scheduler claims
--   lease_lapses_at  lease_expires_at while publishing: claims to recover
--   recheck_at       next_attempt_at while unconfirmed: fates to re-check
--
-- Queries that used the old indexes now name these columns (sql/sched_*.sql).
-- Writers never set them (GENERATED ALWAYS). A fill factor of 85 leaves each
-- page room for the new versions. Adding the columns rewrites the table once.

ALTER TABLE post_targets SET (fillfactor = 85);

ALTER TABLE post_targets
    ADD COLUMN due_at timestamptz
        GENERATED ALWAYS AS (CASE WHEN status = 'scheduled' THEN next_attempt_at END) STORED,
    ADD COLUMN lease_lapses_at timestamptz
        GENERATED ALWAYS AS (CASE WHEN status = 'publishing' THEN lease_expires_at END) STORED,
    ADD COLUMN recheck_at timestamptz
        GENERATED ALWAYS AS (CASE WHEN status = 'unconfirmed' THEN next_attempt_at END) STORED;

DROP INDEX post_targets_due, post_targets_key_due, post_targets_publishing,
           post_targets_unconfirmed;
CREATE INDEX post_targets_due ON post_targets (due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX post_targets_key_due ON post_targets (provider_key_id, due_at, id)
    WHERE due_at IS NOT NULL;
CREATE INDEX post_targets_publishing ON post_targets (lease_lapses_at)
    WHERE lease_lapses_at IS NOT NULL;
CREATE INDEX post_targets_unconfirmed ON post_targets (recheck_at) WHERE recheck_at IS NOT NULL;
