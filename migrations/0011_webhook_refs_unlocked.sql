-- The reference check of webhook_events (0007) without row locks. It locked
-- every named provider and target FOR KEY SHARE, as a foreign key does, so
-- that neither could be deleted before the events naming them committed.
-- With two intake writers naming the same provider, each batch turned that
-- provider row's lock into a MultiXact, and sorting and locking cost about a
-- tenth of PostgreSQL's CPU at webhook intake.
--
-- The guarantee now comes from the other side, where deletes are rare: a
-- statement deleting providers or targets first takes a SHARE ROW EXCLUSIVE
-- lock on webhook_events. That waits for every transaction that has written
-- events (they hold ROW EXCLUSIVE until they end) and holds new writers off
-- until it ends, so its own look at webhook_events, in a snapshot taken
-- after the lock, sees every event that could name what it deletes; and a
-- writer that runs after it sees the row gone. The mode conflicts with
-- itself, so two deleting transactions queue instead of deadlocking.

CREATE OR REPLACE FUNCTION postpace_webhook_events_refs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n
                WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.id = n.provider)) THEN
        RAISE EXCEPTION 'webhook_events names a provider that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM new_rows n
                WHERE n.target_id IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM post_targets t WHERE t.id = n.target_id)) THEN
        RAISE EXCEPTION 'webhook_events names a post target that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION postpace_providers_keep_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM providers p
                                                                WHERE p.id = o.id)) THEN
        RETURN NULL; -- no provider went away
    END IF;
    LOCK TABLE webhook_events IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM old_rows o
                WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.id = o.id)
                  AND EXISTS (SELECT 1 FROM webhook_events w WHERE w.provider = o.id)) THEN
        RAISE EXCEPTION 'provider is still named by webhook_events'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION postpace_targets_release_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows) THEN
        LOCK TABLE webhook_events IN SHARE ROW EXCLUSIVE MODE;
        UPDATE webhook_events w SET target_id = NULL
         WHERE w.target_id IN (SELECT o.id FROM old_rows o);
    END IF;
    RETURN NULL;
END $$;
