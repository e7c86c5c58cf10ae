-- Scheduler housekeeping at calendar scale: claims past their lease and
-- unconfirmed targets due for a retry are found through small partial
-- indexes (only rows in flight are in them), not a scan of every target
-- once a second.
CREATE INDEX post_targets_publishing ON post_targets (lease_expires_at) WHERE status = 'publishing';
CREATE INDEX post_targets_unconfirmed ON post_targets (next_attempt_at) WHERE status = 'unconfirmed';
