-- Webhook intake: events are stored once per (provider, event id) and applied
-- to their target; an event whose target is not known yet stays pending and
-- is applied by a trigger as soon as a matching target is written.

-- The idempotency key of the request that carried a target (a batched
-- request carries several targets under one key); providers echo it back.
ALTER TABLE post_targets ADD COLUMN request_ref text;
CREATE INDEX post_targets_request_ref ON post_targets (request_ref) WHERE request_ref IS NOT NULL;
CREATE INDEX post_targets_provider_post_id ON post_targets (provider_post_id)
    WHERE provider_post_id IS NOT NULL;

-- What the event says, extracted at intake so matching uses indexes.
ALTER TABLE webhook_events
    ADD COLUMN reference text,
    ADD COLUMN provider_post_id text,
    ADD COLUMN account_id text,
    ADD CONSTRAINT webhook_events_type CHECK (event_type IN ('post.published', 'post.failed')),
    ADD CONSTRAINT webhook_events_matchable CHECK (reference IS NOT NULL OR provider_post_id IS NOT NULL);
-- Pending events by key (the 0001 index on provider alone would be picked
-- for key look-ups and scan every pending row of the provider).
DROP INDEX webhook_events_pending;
CREATE INDEX webhook_events_pending ON webhook_events (provider, event_id) WHERE applied_at IS NULL;
CREATE INDEX webhook_events_pending_ref ON webhook_events (reference) WHERE applied_at IS NULL;
CREATE INDEX webhook_events_pending_post ON webhook_events (provider_post_id) WHERE applied_at IS NULL;

-- The targets an event speaks of: by the provider's per-account post id, by
-- our target key, or by our request key narrowed to the account the event
-- names (ignored when the request carried one target: some providers name
-- their own account there, not ours).
CREATE FUNCTION postpace_event_targets(e webhook_events) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    SELECT t.id
      FROM post_targets t
      JOIN provider_keys k ON k.id = t.provider_key_id AND k.provider = e.provider
     WHERE t.provider_post_id = e.provider_post_id
        OR t.idempotency_key = e.reference
        OR (t.request_ref = e.reference
            AND (e.account_id IS NULL OR t.account_id = e.account_id
                 OR NOT EXISTS (SELECT 1 FROM post_targets o
                                 WHERE o.request_ref = t.request_ref AND o.id <> t.id)))
$$;

-- Applies stored events (given as parallel arrays of provider and event id)
-- in one statement; returns how many targets moved. The rules commute, so a
-- batch needs no ordering: post.published settles any target not already
-- published/cancelled/expired (a late success beats an earlier failure);
-- post.failed settles only targets still in flight, never a published one.
-- An event is marked applied once it matched a target; one that matched
-- nothing stays pending.
CREATE FUNCTION postpace_apply_events(p_providers text[], p_event_ids text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    moved integer;
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
    WITH ev AS (
        SELECT w.*
          FROM unnest(p_providers, p_event_ids) AS n(provider, event_id)
          JOIN webhook_events w USING (provider, event_id)
         WHERE w.applied_at IS NULL
    ), matched AS (
        SELECT ev.provider, ev.event_id, ev.event_type, ev.provider_post_id, ev.payload,
               t.id AS target_id
          FROM ev CROSS JOIN LATERAL postpace_event_targets(ev) AS t(id)
    ), verdict AS (
        SELECT target_id,
               bool_or(event_type = 'post.published') AS published,
               min(provider_post_id) AS provider_post_id,
               (array_agg(jsonb_build_object('source', 'webhook', 'event_id', event_id,
                                             'error', payload -> 'data' -> 'error')
                          ORDER BY event_id) FILTER (WHERE event_type = 'post.failed'))[1] AS error
          FROM matched
         GROUP BY target_id
    ), moved_targets AS (
        UPDATE post_targets t
           SET status = CASE WHEN v.published THEN 'published' ELSE 'failed' END::target_status,
               provider_post_id = coalesce(t.provider_post_id, v.provider_post_id),
               last_error = CASE WHEN v.published THEN t.last_error ELSE v.error END,
               lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
          FROM verdict v
         WHERE t.id = v.target_id
           AND CASE WHEN v.published
                    THEN t.status IN ('scheduled', 'publishing', 'submitted', 'unconfirmed', 'failed')
                    ELSE t.status IN ('publishing', 'submitted', 'unconfirmed')
                         OR (t.status = 'scheduled' AND t.attempts > 0)
               END
        RETURNING t.id
    ), marked AS (
        UPDATE webhook_events w
           SET applied_at = now(), target_id = m.target_id
          FROM (SELECT provider, event_id, min(target_id) AS target_id
                  FROM matched GROUP BY provider, event_id) m
         WHERE w.provider = m.provider AND w.event_id = m.event_id
        RETURNING 1
    )
    -- A data-modifying CTE runs to completion whether or not it is read.
    SELECT count(*) INTO moved FROM moved_targets;
    RETURN moved;
END $$;

-- Applies pending events that the written targets now match.
CREATE FUNCTION postpace_apply_pending() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    providers text[];
    ids text[];
BEGIN
    IF pg_trigger_depth() > 1 OR NOT EXISTS (SELECT 1 FROM webhook_events WHERE applied_at IS NULL) THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(d.provider), array_agg(d.event_id) INTO providers, ids
      FROM (SELECT DISTINCT w.provider, w.event_id
              FROM new_rows n
              JOIN webhook_events w
                ON w.applied_at IS NULL
               AND (w.reference IN (n.idempotency_key, n.request_ref)
                    OR w.provider_post_id = n.provider_post_id)) d;
    IF ids IS NOT NULL THEN
        PERFORM postpace_apply_events(providers, ids);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER post_targets_apply_pending_insert AFTER INSERT ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_apply_pending();
CREATE TRIGGER post_targets_apply_pending_update AFTER UPDATE ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_apply_pending();
