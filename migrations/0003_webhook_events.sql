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
CREATE INDEX webhook_events_pending_ref ON webhook_events (reference) WHERE applied_at IS NULL;
CREATE INDEX webhook_events_pending_post ON webhook_events (provider_post_id) WHERE applied_at IS NULL;

-- The targets an event speaks of: by our reference (request or target key)
-- or by the provider's post id; narrowed to one account when it names one.
CREATE FUNCTION postpace_event_targets(e webhook_events) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    SELECT t.id
      FROM post_targets t
      JOIN provider_keys k ON k.id = t.provider_key_id AND k.provider = e.provider
     WHERE (t.idempotency_key = e.reference OR t.request_ref = e.reference
            OR t.provider_post_id = e.provider_post_id)
       AND (e.account_id IS NULL OR t.account_id = e.account_id)
$$;

-- Applies one stored event; returns the number of targets it moved. Rules:
-- post.published settles any target not already published/cancelled/expired
-- (a late success beats an earlier failure); post.failed settles only
-- targets still in flight (never a published one). Either way the event is
-- marked applied once it matched something.
CREATE FUNCTION postpace_apply_event(p_provider text, p_event_id text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    e webhook_events;
    ids bigint[];
    moved integer := 0;
BEGIN
    SELECT * INTO e FROM webhook_events
     WHERE provider = p_provider AND event_id = p_event_id AND applied_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    ids := ARRAY(SELECT postpace_event_targets(e));
    IF cardinality(ids) = 0 THEN
        RETURN 0; -- pending: applied when the target appears
    END IF;
    UPDATE webhook_events SET applied_at = now(), target_id = ids[1]
     WHERE provider = p_provider AND event_id = p_event_id;
    IF e.event_type = 'post.published' THEN
        UPDATE post_targets
           SET status = 'published',
               provider_post_id = coalesce(provider_post_id, e.provider_post_id),
               lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
         WHERE id = ANY (ids)
           AND status IN ('scheduled', 'publishing', 'submitted', 'unconfirmed', 'failed');
    ELSE
        UPDATE post_targets
           SET status = 'failed',
               provider_post_id = coalesce(provider_post_id, e.provider_post_id),
               last_error = jsonb_build_object('source', 'webhook', 'event_id', e.event_id,
                                               'error', e.payload -> 'data' -> 'error'),
               lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
         WHERE id = ANY (ids)
           AND (status IN ('publishing', 'submitted', 'unconfirmed')
                OR (status = 'scheduled' AND attempts > 0));
    END IF;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN moved;
END $$;

-- Applies pending events that the written targets now match.
CREATE FUNCTION postpace_apply_pending() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ev record;
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL; -- the update came from postpace_apply_event itself
    END IF;
    FOR ev IN
        SELECT DISTINCT w.provider, w.event_id, w.received_at
          FROM new_rows n
          JOIN webhook_events w
            ON w.applied_at IS NULL
           AND (w.reference IN (n.idempotency_key, n.request_ref)
                OR w.provider_post_id = n.provider_post_id)
         ORDER BY w.received_at
    LOOP
        PERFORM postpace_apply_event(ev.provider, ev.event_id);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER post_targets_apply_pending_insert AFTER INSERT ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_apply_pending();
CREATE TRIGGER post_targets_apply_pending_update AFTER UPDATE ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_apply_pending();
