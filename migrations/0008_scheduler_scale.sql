-- Scheduler housekeeping at calendar scale: claims past their lease and
-- unconfirmed targets due for a retry are found through small partial
-- indexes (only rows in flight are in them), not a scan of every target
-- once a second. The first one's predicate also names lease_expires_at, so
-- only the look-up by lease expiry can use it: a statement that settles
-- claims by id (status = 'publishing' AND id = ...) must probe the primary
-- key, not walk every claim in flight for each row.
CREATE INDEX post_targets_publishing ON post_targets (lease_expires_at)
    WHERE status = 'publishing' AND lease_expires_at IS NOT NULL;
CREATE INDEX post_targets_unconfirmed ON post_targets (next_attempt_at) WHERE status = 'unconfirmed';
