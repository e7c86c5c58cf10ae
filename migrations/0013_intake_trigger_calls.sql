-- Webhook intake stops paying for trigger calls that cannot find anything.
--
-- Each batch postpace_store_events writes fired two statement triggers that
-- only re-check what the function itself already knows:
--   webhook_events_refs_insert  the named providers and targets exist. The
--                               function holds a lock on every target it
--                               names, and can look the providers up itself;
--   post_targets_notify_update  some target became due. Intake moves targets
--                               only to published or failed, never due.
-- A trigger call costs a plpgsql frame, a query or two and their executor
-- start-up however small the batch: about a tenth of PostgreSQL's CPU at
-- intake. Both triggers now skip the statements the function marks with the
-- transaction-local setting postpace.webhook_store = 'on'; every other writer
-- is checked and woken as before. The function sets it only around its own
-- write, and only when the provider check it stands in for passed: a
-- provider that is not there leaves the setting off, and the trigger raises
-- as it always did.
--
-- The guard against leaving a terminal state also moves from BEFORE to
-- AFTER UPDATE. A BEFORE row trigger makes every updated row be fetched and
-- locked once more before the update, whether or not its WHEN holds (4-5% of
-- intake's database CPU). An AFTER row trigger's WHEN is tested on the row the
-- update already has; a refused move still fails the statement, so the row
-- never changes.

CREATE TRIGGER post_targets_guard_after AFTER UPDATE OF status ON post_targets
    FOR EACH ROW WHEN (OLD.status IN ('published', 'failed', 'cancelled', 'expired')
                       AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION postpace_targets_guard();
DROP TRIGGER post_targets_guard ON post_targets;
ALTER TRIGGER post_targets_guard_after ON post_targets RENAME TO post_targets_guard;

DROP TRIGGER webhook_events_refs_insert ON webhook_events;
CREATE TRIGGER webhook_events_refs_insert AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('postpace.webhook_store', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION postpace_webhook_events_refs();

DROP TRIGGER post_targets_notify_update ON post_targets;
CREATE TRIGGER post_targets_notify_update AFTER UPDATE ON post_targets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('postpace.webhook_store', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION postpace_notify_due();

-- The 0007 function, with the checks the triggers no longer make when it
-- writes. It matches and locks in one statement: the targets it names are the
-- rows it holds (a target deleted before its lock drops out of the match, and
-- the event is stored pending, as if it had come first). Providers are looked
-- up after webhook_events is locked against provider deletes (0011), in a
-- snapshot taken after that lock. Targets are locked first, as before: a
-- target delete holds its rows and then waits for webhook_events, so taking
-- the table first could deadlock.
CREATE OR REPLACE FUNCTION postpace_store_events(p_providers text[], p_event_ids text[],
                                                 p_types text[], p_payloads text[],
                                                 p_references text[], p_post_ids text[],
                                                 p_account_ids text[])
RETURNS TABLE (provider text, event_id text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    m_ord bigint[];     -- matches, as pairs (position in the batch, target)
    m_target bigint[];
    providers_known boolean;
BEGIN
    -- Lock the targets in id order, as the scheduler does, so the writers
    -- never deadlock.
    SELECT array_agg(l.ord), array_agg(l.id) INTO m_ord, m_target
      FROM (SELECT e.ord, t.id
              FROM unnest(p_providers, p_references, p_post_ids, p_account_ids) WITH ORDINALITY
                   AS e(provider, reference, post_id, account_id, ord)
             CROSS JOIN LATERAL postpace_match_targets(e.provider, e.reference, e.post_id,
                                                       e.account_id) AS x(id)
              JOIN post_targets t ON t.id = x.id
             ORDER BY t.id
               FOR UPDATE OF t) l;
    LOCK TABLE webhook_events IN ROW EXCLUSIVE MODE;
    SELECT NOT EXISTS (SELECT 1 FROM unnest(p_providers) AS n(id)
                        WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.id = n.id))
      INTO providers_known;
    IF providers_known THEN
        PERFORM set_config('postpace.webhook_store', 'on', true);
    END IF;
    RETURN QUERY
    WITH e AS (
        SELECT DISTINCT ON (e.provider, e.event_id) e.*
          FROM unnest(p_providers, p_event_ids, p_types, p_payloads, p_references, p_post_ids,
                      p_account_ids) WITH ORDINALITY
               AS e(provider, event_id, event_type, payload, reference, post_id, account_id, ord)
         ORDER BY e.provider, e.event_id, e.ord
    ), m AS (
        SELECT * FROM unnest(m_ord, m_target) AS m(ord, target_id)
    ), stored AS (
        INSERT INTO webhook_events AS w (provider, event_id, event_type, payload, reference,
                                         provider_post_id, account_id, target_id, applied_at)
        SELECT e.provider, e.event_id, e.event_type, e.payload::jsonb, e.reference, e.post_id,
               e.account_id, f.target_id, CASE WHEN f.target_id IS NOT NULL THEN now() END
          FROM e LEFT JOIN (SELECT m.ord, min(m.target_id) AS target_id
                              FROM m GROUP BY m.ord) f USING (ord)
        ON CONFLICT ON CONSTRAINT webhook_events_pkey DO NOTHING
        RETURNING w.provider, w.event_id, w.event_type, w.provider_post_id, w.payload
    ), verdict AS (
        -- postpace_settle_targets' rules, inline (change both together).
        SELECT m.target_id,
               bool_or(s.event_type = 'post.published') AS published,
               min(s.provider_post_id) AS provider_post_id,
               (array_agg(jsonb_build_object('source', 'webhook', 'event_id', s.event_id,
                                             'error', s.payload -> 'data' -> 'error')
                          ORDER BY s.event_id) FILTER (WHERE s.event_type = 'post.failed'))[1] AS error
          FROM stored s
          JOIN e ON e.provider = s.provider AND e.event_id = s.event_id
          JOIN m ON m.ord = e.ord
         GROUP BY m.target_id
    ), moved AS (
        UPDATE post_targets t
           SET status = CASE WHEN v.published THEN 'published' ELSE 'failed' END::target_status,
               provider_post_id = coalesce(t.provider_post_id, v.provider_post_id),
               last_error = CASE WHEN v.published THEN t.last_error ELSE v.error END,
               lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
          FROM verdict v
         WHERE t.id = v.target_id
           AND postpace_webhook_may_settle(t.status, t.attempts, v.published)
        RETURNING 1
    )
    SELECT s.provider, s.event_id FROM stored s;
    PERFORM set_config('postpace.webhook_store', '', true);
END $$;
