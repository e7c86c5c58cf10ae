-- Intake's match locks the rows it reads.
--
-- postpace_store_events (0013) matched each event with postpace_match_targets
-- and then joined post_targets again by id to lock what it found: a second
-- index descent and heap fetch for every match, for rows the match had just
-- read. The lock statement now writes the rule out and locks the matching
-- rows themselves. A target changed while the lock waited is re-checked
-- against the whole rule (before, only against its id): one that no longer
-- matches drops out, and the event is stored pending as if it had come
-- first. The provider check and the setting it guards become one statement.
-- Together about 5% of the statement's CPU per event (a batch of 24: 86.5-89.6
-- vs 91.7-93.7 us, alternated on copies of one database).
--
-- The stored-event side (postpace_event_targets, used by the pending apply
-- and the sweep) keeps calling postpace_match_targets; test_schema checks
-- that both sides match the same targets.

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
BEGIN
    -- Lock the targets in id order, as the scheduler does, so the writers
    -- never deadlock. The rule is postpace_match_targets' (0007), written out
    -- (change both together): the rows it reads are the rows it locks.
    SELECT array_agg(l.ord), array_agg(l.id) INTO m_ord, m_target
      FROM (SELECT e.ord, t.id
              FROM unnest(p_providers, p_references, p_post_ids, p_account_ids) WITH ORDINALITY
                   AS e(provider, reference, post_id, account_id, ord)
              JOIN post_targets t
                ON t.provider_post_id = e.post_id
                OR t.idempotency_key = e.reference
                OR (t.request_ref = e.reference
                    AND (e.account_id IS NULL OR t.account_id = e.account_id
                         OR NOT EXISTS (SELECT 1 FROM post_targets o
                                         WHERE o.request_ref = t.request_ref AND o.id <> t.id)))
              JOIN provider_keys k ON k.id = t.provider_key_id AND k.provider = e.provider
             ORDER BY t.id
               FOR UPDATE OF t) l;
    LOCK TABLE webhook_events IN ROW EXCLUSIVE MODE;
    PERFORM set_config('postpace.webhook_store', 'on', true)
      WHERE NOT EXISTS (SELECT 1 FROM unnest(p_providers) AS n(id)
                         WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.id = n.id));
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

COMMENT ON FUNCTION postpace_match_targets(text, text, text, text) IS
    'The rule matching an event to its targets. postpace_store_events (0017) writes it out in its '
    'lock statement: change both together (test_schema holds them to the same targets).';
