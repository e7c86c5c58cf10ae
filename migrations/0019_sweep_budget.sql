-- The pending sweep (0015) checked every pending event of its window on
-- every pass: its cost grew with the events that match nothing, which a
-- sender can pile up at will (105k signed events for unknown posts made
-- each pass take ~1 s of a backend, once 2.5 min). Now each pass examines
-- at most p_budget events, walking the window in arrival order from a
-- cursor the caller keeps: the cost of a pass is bounded by the budget,
-- whatever is pending, and a long backlog is covered in turns (each event
-- is still looked at again while it is in the window, every
-- pending/budget passes).

DROP FUNCTION postpace_sweep_pending(integer, integer);
DROP INDEX webhook_events_pending_received;
-- The cursor's order, so a pass reads its budget straight off the index.
CREATE INDEX webhook_events_pending_received
    ON webhook_events (received_at, provider, event_id) WHERE applied_at IS NULL;

-- Examines the pending events received in the last p_window_s seconds after
-- the cursor (p_after_*; NULL: from the window's start), at most p_budget
-- of them in (received_at, provider, event_id) order, and applies those that
-- now match a target. Returns how many it applied and the cursor to pass
-- next: the last event examined, or NULLs when the pass reached the end of
-- the window (the next pass starts over).
CREATE FUNCTION postpace_sweep_pending(p_window_s integer, p_budget integer,
                                       p_after_at timestamptz DEFAULT NULL,
                                       p_after_provider text DEFAULT NULL,
                                       p_after_event text DEFAULT NULL,
                                       OUT applied integer, OUT next_at timestamptz,
                                       OUT next_provider text, OUT next_event text)
-- No JIT: the matcher's estimates (a BitmapOr over three indexes per event)
-- put a 1,000-event pass above jit_above_cost, and compiling it took ~350 ms
-- of a pass whose execution takes ~10 ms.
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    examined integer;
    providers text[];
    ids text[];
BEGIN
    IF p_after_at IS NULL THEN
        p_after_at := '-infinity';
        p_after_provider := '';
        p_after_event := '';
    END IF;
    WITH e AS MATERIALIZED (
        SELECT w
          FROM webhook_events w
         WHERE w.applied_at IS NULL
           AND w.received_at > now() - make_interval(secs => p_window_s)
           AND (w.received_at, w.provider, w.event_id) > (p_after_at, p_after_provider, p_after_event)
         ORDER BY w.received_at, w.provider, w.event_id
         LIMIT p_budget
    )
    SELECT count(*),
           array_agg((e.w).provider) FILTER (WHERE EXISTS (SELECT 1 FROM postpace_event_targets(e.w))),
           array_agg((e.w).event_id) FILTER (WHERE EXISTS (SELECT 1 FROM postpace_event_targets(e.w))),
           (array_agg((e.w).received_at ORDER BY (e.w).received_at DESC, (e.w).provider DESC,
                      (e.w).event_id DESC))[1],
           (array_agg((e.w).provider ORDER BY (e.w).received_at DESC, (e.w).provider DESC,
                      (e.w).event_id DESC))[1],
           (array_agg((e.w).event_id ORDER BY (e.w).received_at DESC, (e.w).provider DESC,
                      (e.w).event_id DESC))[1]
      INTO examined, providers, ids, next_at, next_provider, next_event
      FROM e;
    applied := coalesce(cardinality(ids), 0);
    IF applied > 0 THEN
        PERFORM postpace_apply_events(providers, ids);
    END IF;
    IF examined < p_budget THEN
        next_at := NULL;
        next_provider := NULL;
        next_event := NULL;
    END IF;
END $$;
