-- Bulk inserts check set-wise what they used to check row by row. A
-- million-post import paid, per post, a CHECK calling a SQL function
-- (postpace_is_time_zone) and a foreign-key trigger on provider_key_id, and
-- per target one foreign-key trigger on post_id: about 15 µs each, close to
-- half of the insert phase (the rest is the rows and their indexes). The
-- same rules now run once per INSERT statement over its transition table,
-- on each distinct value once; updates
-- (a row or a few at a time) keep row-level checks, fired only when the
-- column really changed. Direct SQL writers get the same refusals, with the
-- same SQLSTATEs and constraint names (tests/integration/test_direct_sql.c).
--
-- Locking matches what the foreign keys did: a referenced key or post is
-- locked FOR KEY SHARE, so a concurrent delete waits for this transaction
-- and then sees its rows. Posts this transaction wrote itself need no lock
-- (nobody else can see them), and the targets posts_expand derives from the
-- posts of the same statement are not checked at all (see below).

ALTER TABLE posts DROP CONSTRAINT posts_time_zone_check;
ALTER TABLE posts DROP CONSTRAINT posts_provider_key_id_fkey;
ALTER TABLE post_targets DROP CONSTRAINT post_targets_post_id_fkey;

-- Each refusal below, raised as the constraint it replaces would have raised it.
CREATE FUNCTION postpace_refuse_zone(tz text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'new row for relation "posts" violates check constraint "posts_time_zone_check"'
        USING ERRCODE = 'check_violation', TABLE = 'posts', COLUMN = 'time_zone',
              CONSTRAINT = 'posts_time_zone_check', DETAIL = format('unknown time zone "%s"', tz);
END $$;

-- verb: 'insert or update' (a row names what is not there) or 'update or
-- delete' (a row still named elsewhere would go), as PostgreSQL words it.
CREATE FUNCTION postpace_refuse_missing(verb text, tab text, constr text, what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on table "%" violates foreign key constraint "%"', verb, tab, constr
        USING ERRCODE = 'foreign_key_violation', TABLE = tab, CONSTRAINT = constr, DETAIL = what;
END $$;

-- posts: zones and keys of the inserted rows, each distinct pair once (one
-- pass over the transition table; a million posts name a handful of pairs).
CREATE FUNCTION postpace_posts_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text;
    keys bigint[];
    key bigint;
BEGIN
    WITH d AS MATERIALIZED (SELECT DISTINCT time_zone, provider_key_id FROM new_posts)
    SELECT (SELECT d.time_zone FROM d WHERE NOT postpace_is_time_zone(d.time_zone) LIMIT 1),
           array_agg(DISTINCT d.provider_key_id)
      INTO tz, keys
      FROM d;
    IF tz IS NOT NULL THEN
        PERFORM postpace_refuse_zone(tz);
    END IF;
    PERFORM 1 FROM provider_keys k WHERE k.id = ANY (keys) FOR KEY SHARE;
    SELECT n INTO key FROM unnest(keys) AS n
     WHERE NOT EXISTS (SELECT 1 FROM provider_keys k WHERE k.id = n)
     LIMIT 1;
    IF FOUND THEN
        PERFORM postpace_refuse_missing('insert or update', 'posts', 'posts_provider_key_id_fkey',
            format('Key (provider_key_id)=(%s) is not present in table "provider_keys".', key));
    END IF;
    RETURN NULL;
END $$;
-- Named to fire before posts_expand (statement triggers fire in name order).
CREATE TRIGGER posts_check_insert AFTER INSERT ON posts
    REFERENCING NEW TABLE AS new_posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_posts_check_insert();

-- posts, updated: the one row's new zone or key, and an id its targets still name.
CREATE FUNCTION postpace_posts_check_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.time_zone IS DISTINCT FROM OLD.time_zone AND NOT postpace_is_time_zone(NEW.time_zone) THEN
        PERFORM postpace_refuse_zone(NEW.time_zone);
    END IF;
    IF NEW.provider_key_id IS DISTINCT FROM OLD.provider_key_id THEN
        PERFORM 1 FROM provider_keys k WHERE k.id = NEW.provider_key_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM postpace_refuse_missing('insert or update', 'posts', 'posts_provider_key_id_fkey',
                format('Key (provider_key_id)=(%s) is not present in table "provider_keys".',
                       NEW.provider_key_id));
        END IF;
    END IF;
    IF NEW.id <> OLD.id AND EXISTS (SELECT 1 FROM post_targets t WHERE t.post_id = OLD.id) THEN
        PERFORM postpace_refuse_missing('update or delete', 'posts', 'post_targets_post_id_fkey',
            format('Key (id)=(%s) is still referenced from table "post_targets".', OLD.id));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_check_update AFTER UPDATE OF time_zone, provider_key_id, id ON posts
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone
                       OR OLD.provider_key_id IS DISTINCT FROM NEW.provider_key_id
                       OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION postpace_posts_check_update();

-- posts, deleted: their targets go too (was ON DELETE CASCADE).
CREATE FUNCTION postpace_posts_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM post_targets t WHERE t.post_id IN (SELECT o.id FROM old_posts o);
    RETURN NULL;
END $$;
CREATE TRIGGER posts_cascade AFTER DELETE ON posts
    REFERENCING OLD TABLE AS old_posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_posts_cascade();

-- post_targets: the posts they name exist (those of other transactions
-- locked). Targets made by posts_expand from the posts of the very same
-- statement are right by construction: it raises postpace.expanding around
-- its INSERT and the check is skipped (a transaction-local setting, so it
-- never outlives that INSERT).
CREATE FUNCTION postpace_targets_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    post bigint;
BEGIN
    IF current_setting('postpace.expanding', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM posts p
     WHERE p.id IN (SELECT n.post_id FROM new_rows n)
       AND p.xmin <> pg_current_xact_id()::xid
       FOR KEY SHARE OF p;
    SELECT n.post_id INTO post
      FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = n.post_id)
     LIMIT 1;
    IF FOUND THEN
        PERFORM postpace_refuse_missing('insert or update', 'post_targets', 'post_targets_post_id_fkey',
            format('Key (post_id)=(%s) is not present in table "posts".', post));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER post_targets_check_insert AFTER INSERT ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_targets_check_insert();

CREATE FUNCTION postpace_targets_check_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM posts p WHERE p.id = NEW.post_id FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM postpace_refuse_missing('insert or update', 'post_targets', 'post_targets_post_id_fkey',
            format('Key (post_id)=(%s) is not present in table "posts".', NEW.post_id));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER post_targets_check_update AFTER UPDATE OF post_id ON post_targets
    FOR EACH ROW WHEN (OLD.post_id IS DISTINCT FROM NEW.post_id)
    EXECUTE FUNCTION postpace_targets_check_update();

-- provider_keys: a key some post names stays (was the foreign key's NO ACTION).
CREATE FUNCTION postpace_keys_check_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key bigint;
BEGIN
    SELECT p.provider_key_id INTO key
      FROM posts p
     WHERE p.provider_key_id IN (SELECT o.id FROM old_keys o)
     LIMIT 1;
    IF FOUND THEN
        PERFORM postpace_refuse_missing('update or delete', 'provider_keys', 'posts_provider_key_id_fkey',
            format('Key (id)=(%s) is still referenced from table "posts".', key));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER provider_keys_check_delete AFTER DELETE ON provider_keys
    REFERENCING OLD TABLE AS old_keys
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_keys_check_delete();

CREATE FUNCTION postpace_keys_check_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM posts p WHERE p.provider_key_id = OLD.id) THEN
        PERFORM postpace_refuse_missing('update or delete', 'provider_keys', 'posts_provider_key_id_fkey',
            format('Key (id)=(%s) is still referenced from table "posts".', OLD.id));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER provider_keys_check_update AFTER UPDATE OF id ON provider_keys
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION postpace_keys_check_update();

-- The expand trigger of 0001, unchanged but for the flag above.
CREATE OR REPLACE FUNCTION postpace_posts_expand() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('postpace.expanding', 'on', true);
    INSERT INTO post_targets (post_id, provider_key_id, account_id, next_attempt_at, idempotency_key)
    SELECT p.id, p.provider_key_id, a, p.scheduled_at, 'pp-' || p.id || '-' || md5(a)
      FROM new_posts p, unnest(p.account_ids) AS a;
    PERFORM set_config('postpace.expanding', 'off', true);
    RETURN NULL;
END $$;

-- Content must not be blank: the same rule without counting the characters
-- of every post (length() walks the UTF-8 of the whole text).
ALTER TABLE posts DROP CONSTRAINT posts_content_check,
    ADD CONSTRAINT posts_content_check CHECK (btrim(content) <> '');

-- TRUNCATE follows only real foreign keys: refuse one that would orphan rows
-- (TRUNCATE posts, post_targets together is fine).
CREATE FUNCTION postpace_truncate_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_TABLE_NAME = 'posts' AND EXISTS (SELECT 1 FROM post_targets))
       OR (TG_TABLE_NAME = 'provider_keys' AND EXISTS (SELECT 1 FROM posts)) THEN
        RAISE EXCEPTION 'cannot truncate % while % still refers to it', TG_TABLE_NAME,
            CASE TG_TABLE_NAME WHEN 'posts' THEN 'post_targets' ELSE 'posts' END
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Truncate the referring table in the same command.';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_truncate_check AFTER TRUNCATE ON posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_truncate_check();
CREATE TRIGGER provider_keys_truncate_check AFTER TRUNCATE ON provider_keys
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_truncate_check();
