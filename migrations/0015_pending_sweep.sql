-- A pending event can miss a target that matches it. The event is stored
-- while the write that makes its target matchable (the recorder filling in
-- the provider's post id, say) is not yet committed, so the event's match
-- does not see it; and that write's apply-pending trigger (0003) ran before
-- the event existed, so it does not see the event either. The event then
-- waits for the target's next write, which may never come. The daemon
-- closes the gap by sweeping recently received pending events now and then
-- (postpace_sweep_pending); the window is short, because the race is as
-- short as the transactions involved, and bounded, because events that
-- match no target at all may pile up and are checked again by every write
-- that could match them.

-- Pending events by arrival, for the sweep (empty while every event matches).
CREATE INDEX webhook_events_pending_received ON webhook_events (received_at)
    WHERE applied_at IS NULL;

-- Applies the pending events received in the last p_window_s seconds that
-- now match a target, oldest first, at most p_limit of them; returns how many
-- it applied. postpace_apply_events does the work, locking the targets in id
-- order as every other writer of targets does.
CREATE FUNCTION postpace_sweep_pending(p_window_s integer, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    providers text[];
    ids text[];
BEGIN
    SELECT array_agg(s.provider), array_agg(s.event_id) INTO providers, ids
      FROM (SELECT w.provider, w.event_id
              FROM webhook_events w
             WHERE w.applied_at IS NULL
               AND w.received_at > now() - make_interval(secs => p_window_s)
               AND EXISTS (SELECT 1 FROM postpace_event_targets(w))
             ORDER BY w.received_at
             LIMIT p_limit) s;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM postpace_apply_events(providers, ids);
    RETURN cardinality(ids);
END $$;
