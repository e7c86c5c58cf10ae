-- Faster webhook intake: an event is matched to its targets once, before it
-- is stored, and stored already applied. The 0003 path stored each event as
-- pending (an entry in every pending index), matched it twice (to lock, then
-- to apply), then updated it to applied: a second heap tuple and, because it
-- was inserted by the same transaction, both foreign-key checks again.

-- The targets an event names (the 0003 rule, given the event's fields): by
-- the provider's per-account post id, by our target key, or by our request
-- key narrowed to the account the event names (ignored when the request
-- carried one target: some providers name their own account there, not ours).
CREATE FUNCTION postpace_match_targets(p_provider text, p_reference text, p_post_id text,
                                       p_account_id text) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    SELECT t.id
      FROM post_targets t
      JOIN provider_keys k ON k.id = t.provider_key_id AND k.provider = p_provider
     WHERE t.provider_post_id = p_post_id
        OR t.idempotency_key = p_reference
        OR (t.request_ref = p_reference
            AND (p_account_id IS NULL OR t.account_id = p_account_id
                 OR NOT EXISTS (SELECT 1 FROM post_targets o
                                 WHERE o.request_ref = t.request_ref AND o.id <> t.id)))
$$;

-- One matching rule: the stored-event form now calls the one above.
CREATE OR REPLACE FUNCTION postpace_event_targets(e webhook_events) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    SELECT * FROM postpace_match_targets(e.provider, e.reference, e.provider_post_id, e.account_id)
$$;

-- Whether a webhook's verdict may move a target: post.published settles any
-- target not already published/cancelled/expired (a late success beats an
-- earlier failure); post.failed only one still in flight (or put back after
-- a try), never a published one. One expression, inlined where it is used.
CREATE FUNCTION postpace_webhook_may_settle(status target_status, attempts integer,
                                            published boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN published
                THEN status IN ('scheduled', 'publishing', 'submitted', 'unconfirmed', 'failed')
                ELSE status IN ('publishing', 'submitted', 'unconfirmed')
                     OR (status = 'scheduled' AND attempts > 0)
           END
$$;

-- Settles targets from matched events, given as parallel arrays (one entry
-- per target an event matched); returns how many targets moved. The caller
-- holds the targets' row locks. The rules commute, so a batch needs no
-- ordering; which targets may move is postpace_webhook_may_settle.
-- Used by postpace_apply_events; postpace_store_events writes the same
-- verdict and update inline (change both together). plpgsql, not sql: its plan is cached
-- per session instead of parsed and planned at every call.
CREATE FUNCTION postpace_settle_targets(p_targets bigint[], p_types text[], p_event_ids text[],
                                        p_post_ids text[], p_payloads jsonb[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    moved integer;
BEGIN
    WITH verdict AS (
        SELECT target_id,
               bool_or(event_type = 'post.published') AS published,
               min(provider_post_id) AS provider_post_id,
               (array_agg(jsonb_build_object('source', 'webhook', 'event_id', event_id,
                                             'error', payload -> 'data' -> 'error')
                          ORDER BY event_id) FILTER (WHERE event_type = 'post.failed'))[1] AS error
          FROM unnest(p_targets, p_types, p_event_ids, p_post_ids, p_payloads)
               AS m(target_id, event_type, event_id, provider_post_id, payload)
         GROUP BY target_id
    ), moved_targets AS (
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
    SELECT count(*) INTO moved FROM moved_targets;
    RETURN moved;
END $$;

-- Stores a batch of verified events (parallel arrays, in arrival order) and
-- applies the new ones; returns the events that are new. A replay or a
-- duplicate of a stored event (or of an earlier one in the batch) is
-- skipped. An event that matches a target is stored applied, naming the
-- smallest target it matched; one that matches nothing is stored pending
-- and applied by the trigger below when its target appears.
CREATE FUNCTION postpace_store_events(p_providers text[], p_event_ids text[], p_types text[],
                                      p_payloads text[], p_references text[], p_post_ids text[],
                                      p_account_ids text[])
RETURNS TABLE (provider text, event_id text)
-- Generic plans: with custom ones (plpgsql's choice here, the arrays' sizes
-- being known) every batch planned its statements again, inlining the
-- matcher's text each time, which cost about as much CPU as storing 30
-- events. The generic plans are the same nested loops over the indexes.
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    m_ord bigint[];     -- matches, as pairs (position in the batch, target)
    m_target bigint[];
BEGIN
    SELECT array_agg(e.ord), array_agg(x.id) INTO m_ord, m_target
      FROM unnest(p_providers, p_references, p_post_ids, p_account_ids) WITH ORDINALITY
           AS e(provider, reference, post_id, account_id, ord)
     CROSS JOIN LATERAL postpace_match_targets(e.provider, e.reference, e.post_id, e.account_id) AS x(id);
    -- Lock the targets in id order first, as the scheduler does, so the two
    -- writers never deadlock.
    PERFORM 1 FROM post_targets t WHERE t.id = ANY (m_target) ORDER BY t.id FOR UPDATE;
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
        -- postpace_settle_targets' rules, inline: one statement instead of
        -- collecting the new events into arrays and unnesting them again
        -- (~15% of the writer's CPU). Change both together.
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
END $$;

-- The 0003 apply (the trigger's path for events stored before their
-- target), now with the settle rules intake uses.
CREATE OR REPLACE FUNCTION postpace_apply_events(p_providers text[], p_event_ids text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s_provider text[];
    s_target bigint[];
    s_type text[];
    s_event text[];
    s_post text[];
    s_payload jsonb[];
BEGIN
    -- Lock the targets in id order first, as the scheduler does, so the two
    -- writers never deadlock.
    PERFORM 1
       FROM post_targets t
      WHERE t.id IN (SELECT x.id
                       FROM unnest(p_providers, p_event_ids) AS n(provider, event_id)
                       JOIN webhook_events w USING (provider, event_id)
                       CROSS JOIN LATERAL postpace_event_targets(w) AS x(id)
                      WHERE w.applied_at IS NULL)
      ORDER BY t.id
        FOR UPDATE;
    SELECT array_agg(w.provider), array_agg(x.id), array_agg(w.event_type), array_agg(w.event_id),
           array_agg(w.provider_post_id), array_agg(w.payload)
      INTO s_provider, s_target, s_type, s_event, s_post, s_payload
      FROM unnest(p_providers, p_event_ids) AS n(provider, event_id)
      JOIN webhook_events w USING (provider, event_id)
     CROSS JOIN LATERAL postpace_event_targets(w) AS x(id)
     WHERE w.applied_at IS NULL;
    IF s_target IS NULL THEN
        RETURN 0;
    END IF;
    -- An event is marked applied once it matched a target; one that matched
    -- nothing stays pending.
    UPDATE webhook_events w
       SET applied_at = now(), target_id = m.target_id
      FROM (SELECT provider, event_id, min(target_id) AS target_id
              FROM unnest(s_provider, s_event, s_target) AS m(provider, event_id, target_id)
             GROUP BY provider, event_id) m
     WHERE w.provider = m.provider AND w.event_id = m.event_id;
    RETURN postpace_settle_targets(s_target, s_type, s_event, s_post, s_payload);
END $$;

-- The foreign keys of webhook_events, checked once per statement instead of
-- once per row: a per-row check is a query of its own (two per event at
-- intake). Same rules: the named provider and target must exist (locked
-- FOR KEY SHARE, as a foreign key check locks them, in id order), a provider
-- named by an event cannot go, and a deleted target leaves its events
-- naming no target (ON DELETE SET NULL).
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_provider_fkey,
                           DROP CONSTRAINT webhook_events_target_id_fkey;

CREATE FUNCTION postpace_webhook_events_refs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    providers_ok boolean;
    targets_ok boolean;
BEGIN
    -- A row that cannot be locked does not exist (or was just deleted).
    SELECT (SELECT count(DISTINCT n.provider) FROM new_rows n)
             = (SELECT count(*) FROM (SELECT 1 FROM providers p
                                       WHERE p.id IN (SELECT n.provider FROM new_rows n)
                                       ORDER BY p.id FOR KEY SHARE) l),
           (SELECT count(DISTINCT n.target_id) FROM new_rows n)
             = (SELECT count(*) FROM (SELECT 1 FROM post_targets t
                                       WHERE t.id IN (SELECT n.target_id FROM new_rows n)
                                       ORDER BY t.id FOR KEY SHARE) l)
      INTO providers_ok, targets_ok;
    IF NOT providers_ok THEN
        RAISE EXCEPTION 'webhook_events names a provider that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NOT targets_ok THEN
        RAISE EXCEPTION 'webhook_events names a post target that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_events_refs_insert AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_webhook_events_refs();
CREATE TRIGGER webhook_events_refs_update AFTER UPDATE ON webhook_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_webhook_events_refs();

CREATE FUNCTION postpace_providers_keep_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o
                WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.id = o.id)
                  AND EXISTS (SELECT 1 FROM webhook_events w WHERE w.provider = o.id)) THEN
        RAISE EXCEPTION 'provider is still named by webhook_events'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER providers_keep_events_delete AFTER DELETE ON providers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_providers_keep_events();
CREATE TRIGGER providers_keep_events_update AFTER UPDATE ON providers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_providers_keep_events();

-- One pass over webhook_events per statement (the foreign key scanned it
-- once per deleted target: target_id has no index).
CREATE FUNCTION postpace_targets_release_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows) THEN
        UPDATE webhook_events w SET target_id = NULL
         WHERE w.target_id IN (SELECT o.id FROM old_rows o);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER post_targets_release_events AFTER DELETE ON post_targets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_targets_release_events();
