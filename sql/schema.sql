--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: limit_cost; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.limit_cost AS ENUM (
    'request',
    'post',
    'account'
);


--
-- Name: limit_scope; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.limit_scope AS ENUM (
    'key',
    'user',
    'account'
);


--
-- Name: target_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.target_status AS ENUM (
    'scheduled',
    'publishing',
    'submitted',
    'unconfirmed',
    'published',
    'failed',
    'cancelled',
    'expired'
);


--
-- Name: window_kind; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.window_kind AS ENUM (
    'rolling',
    'fixed',
    'calendar_month',
    'lifetime'
);


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: post_targets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.post_targets (
    id bigint NOT NULL,
    post_id bigint NOT NULL,
    provider_key_id bigint NOT NULL,
    account_id text NOT NULL COLLATE pg_catalog."C",
    status public.target_status DEFAULT 'scheduled'::public.target_status NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    provider_post_id text COLLATE pg_catalog."C",
    last_error jsonb,
    lease_owner text,
    lease_expires_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    request_ref text COLLATE pg_catalog."C",
    due_at timestamp with time zone,
    lease_lapses_at timestamp with time zone,
    recheck_at timestamp with time zone,
    CONSTRAINT post_targets_account_id_check CHECK ((account_id <> ''::text)),
    CONSTRAINT post_targets_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT post_targets_check CHECK (((lease_owner IS NULL) = (lease_expires_at IS NULL))),
    CONSTRAINT post_targets_last_error_check CHECK (((last_error IS NULL) OR (jsonb_typeof(last_error) = 'object'::text)))
)
WITH (fillfactor='60');


--
-- Name: idempotency_key(public.post_targets); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.idempotency_key(t public.post_targets) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT 'pp-' || t.id::text || '-' || md5(t.account_id)
$$;


--
-- Name: postpace_apply_events(text[], text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_apply_events(p_providers text[], p_event_ids text[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: postpace_apply_pending(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_apply_pending() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
                ON w.applied_at IS NULL AND w.event_type IS NOT NULL
               AND (w.reference IN (n.idempotency_key, n.request_ref)
                    OR w.provider_post_id = n.provider_post_id)) d;
    IF ids IS NOT NULL THEN
        PERFORM postpace_apply_events(providers, ids);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_dst_problem(timestamp without time zone, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_dst_problem(local timestamp without time zone, tz text) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    WITH t AS (
        SELECT local AT TIME ZONE tz AS at
    ), o AS (
        SELECT t.at,
               ((t.at - interval '3 hours') AT TIME ZONE tz) - ((t.at - interval '3 hours') AT TIME ZONE 'UTC') AS before,
               ((t.at + interval '3 hours') AT TIME ZONE tz) - ((t.at + interval '3 hours') AT TIME ZONE 'UTC') AS after
          FROM t
    )
    SELECT CASE
           WHEN (o.at AT TIME ZONE tz) <> local THEN
               format('%s does not exist in %s (a daylight-saving gap): give an offset or another time',
                      to_char(local, 'YYYY-MM-DD HH24:MI:SS'), tz)
           WHEN o.before <> o.after
                AND (((local - o.before) AT TIME ZONE 'UTC') AT TIME ZONE tz) = local
                AND (((local - o.after) AT TIME ZONE 'UTC') AT TIME ZONE tz) = local THEN
               format('%s happens twice in %s (a daylight-saving overlap): add its offset, %s or %s',
                      to_char(local, 'YYYY-MM-DD HH24:MI:SS'), tz,
                      CASE WHEN o.before >= interval '0' THEN '+' ELSE '' END || to_char(o.before, 'HH24:MI'),
                      CASE WHEN o.after >= interval '0' THEN '+' ELSE '' END || to_char(o.after, 'HH24:MI'))
           END
      FROM o
$$;


--
-- Name: webhook_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_events (
    provider text NOT NULL COLLATE pg_catalog."C",
    event_id text NOT NULL COLLATE pg_catalog."C",
    event_type text,
    raw_type text,
    payload jsonb NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    target_id bigint,
    applied_at timestamp with time zone,
    reference text COLLATE pg_catalog."C",
    provider_post_id text COLLATE pg_catalog."C",
    account_id text COLLATE pg_catalog."C",
    key_id bigint,
    CONSTRAINT webhook_events_event_id_check CHECK (((length(event_id) >= 1) AND (length(event_id) <= 200))),
    CONSTRAINT webhook_events_type CHECK ((event_type = ANY (ARRAY['post.published'::text, 'post.failed'::text])))
);


--
-- Name: postpace_event_targets(public.webhook_events); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_event_targets(e public.webhook_events) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT * FROM postpace_match_targets(e.provider, e.reference, e.provider_post_id, e.account_id)
     WHERE e.event_type IS NOT NULL
$$;


--
-- Name: postpace_is_time_zone(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_is_time_zone(tz text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (SELECT 1 FROM time_zones WHERE name = tz)
$$;


--
-- Name: postpace_key_event(bigint, text, jsonb, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_key_event(p_key bigint, p_type text, p_data jsonb, p_dedupe text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    n integer;
BEGIN
    IF p_dedupe IS NOT NULL AND EXISTS (
           SELECT 1 FROM outbox
            WHERE key_id = p_key AND target_id IS NULL AND event_type = p_type
              AND data ->> 'dedupe' = p_dedupe) THEN
        RETURN 0;
    END IF;
    IF p_dedupe IS NOT NULL THEN
        p_data := p_data || jsonb_build_object('dedupe', p_dedupe);
    END IF;
    INSERT INTO outbox (subscription_id, event_type, key_id, data)
    SELECT s.id, p_type, k.id,
           jsonb_build_object('key_id', k.id, 'provider', k.provider, 'key', k.label) || p_data
      FROM provider_keys k
      JOIN subscriptions s
        ON s.enabled
       AND (cardinality(s.event_types) = 0 OR p_type = ANY (s.event_types))
       AND (s.provider IS NULL OR s.provider = k.provider)
       AND (s.key_id IS NULL OR s.key_id = k.id)
     WHERE k.id = p_key;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('postpace_outbox', '');
    END IF;
    RETURN n;
END $$;


--
-- Name: postpace_key_lookup(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_key_lookup(ref text) RETURNS TABLE(key_id bigint, matches bigint)
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(min(k.id) FILTER (WHERE k.id::text = ref),
                    CASE WHEN count(*) = 1 THEN min(k.id) END),
           count(*)
      FROM provider_keys k
     WHERE k.id::text = ref OR k.label = ref
$$;


--
-- Name: postpace_key_target(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_key_target(ref text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
    SELECT CASE WHEN ref ~ '^pp-[0-9]{1,18}-[0-9a-f]{32}$' THEN split_part(ref, '-', 2)::bigint END
$_$;


--
-- Name: postpace_keys_check_delete(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_keys_check_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: postpace_keys_check_plan(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_keys_check_plan() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM rate_limits WHERE provider = NEW.provider AND plan IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM rate_limits WHERE provider = NEW.provider AND plan = NEW.plan) THEN
        RAISE EXCEPTION 'plan "%" is not a % plan', NEW.plan, NEW.provider
            USING ERRCODE = 'check_violation',
                  HINT = (SELECT 'known plans: ' || string_agg(DISTINCT plan, ', ')
                            FROM rate_limits WHERE provider = NEW.provider AND plan IS NOT NULL);
    END IF;
    RETURN NEW;
END $$;


--
-- Name: postpace_keys_check_update(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_keys_check_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM posts p WHERE p.provider_key_id = OLD.id) THEN
        PERFORM postpace_refuse_missing('update or delete', 'provider_keys', 'posts_provider_key_id_fkey',
            format('Key (id)=(%s) is still referenced from table "posts".', OLD.id));
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_keys_paused(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_keys_paused() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM postpace_key_event(NEW.id, 'key.paused', jsonb_build_object('paused_at', NEW.paused_at));
    RETURN NULL;
END $$;


--
-- Name: postpace_match_targets(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_match_targets(p_provider text, p_reference text, p_post_id text, p_account_id text) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT t.id
      FROM post_targets t
      JOIN provider_keys k ON k.id = t.provider_key_id AND k.provider = p_provider
     WHERE t.provider_post_id = p_post_id
        OR (t.id = postpace_key_target(p_reference) AND t.idempotency_key = p_reference)
        OR (t.request_ref = p_reference
            AND (p_account_id IS NULL OR t.account_id = p_account_id
                 OR NOT EXISTS (SELECT 1 FROM post_targets o
                                 WHERE o.request_ref = t.request_ref AND o.id <> t.id)))
$$;


--
-- Name: postpace_notify_due(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_notify_due() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM postpace_wake(min(n.next_attempt_at))
       FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.status = 'scheduled'
        AND (o.status <> 'scheduled' OR n.next_attempt_at < o.next_attempt_at);
    RETURN NULL;
END $$;


--
-- Name: postpace_operator_targets(public.target_status[], bigint, bigint, text, text, text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_operator_targets(p_statuses public.target_status[], p_target bigint, p_post bigint, p_key text, p_provider text, p_error text, p_since timestamp with time zone, p_until timestamp with time zone) RETURNS SETOF public.post_targets
    LANGUAGE sql STABLE
    AS $$
    SELECT t.*
      FROM post_targets t
      JOIN provider_keys k ON k.id = t.provider_key_id
     WHERE t.status = ANY (p_statuses)
       AND (p_target IS NULL OR t.id = p_target)
       AND (p_post IS NULL OR postpace_target_of(t, p_post))
       AND (p_key IS NULL OR k.id::text = p_key OR k.label = p_key)
       AND (p_provider IS NULL OR k.provider = p_provider)
       -- the scheduler's code, or the one a post.failed webhook carried
       AND (p_error IS NULL OR p_error IN (t.last_error ->> 'code',
                                           t.last_error -> 'error' ->> 'code'))
       AND (p_since IS NULL OR t.updated_at >= p_since)
       AND (p_until IS NULL OR t.updated_at < p_until)
$$;


--
-- Name: postpace_posts_cascade(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_posts_cascade() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM post_targets t USING old_posts o WHERE postpace_target_of(t, o.id);
    RETURN NULL;
END $$;


--
-- Name: postpace_posts_check_insert(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_posts_check_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    tz text;
    keys bigint[];
    key bigint;
BEGIN
    -- The zone test is postpace_is_time_zone's, written out: a call would
    -- parse and plan the function's body again at every statement.
    WITH d AS MATERIALIZED (SELECT DISTINCT time_zone, provider_key_id FROM new_posts)
    SELECT (SELECT d.time_zone FROM d
             WHERE NOT EXISTS (SELECT 1 FROM time_zones z WHERE z.name = d.time_zone) LIMIT 1),
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


--
-- Name: postpace_posts_check_update(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_posts_check_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
    IF NEW.id <> OLD.id
       AND EXISTS (SELECT 1 FROM post_targets t WHERE postpace_target_of(t, OLD.id)) THEN
        PERFORM postpace_refuse_missing('update or delete', 'posts', 'post_targets_post_id_fkey',
            format('Key (id)=(%s) is still referenced from table "post_targets".', OLD.id));
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_posts_expand(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_posts_expand() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('postpace.expanding', 'on', true);
    INSERT INTO post_targets (id, post_id, provider_key_id, account_id, next_attempt_at, due_at)
    SELECT x.id * 128 + array_position(x.account_ids, x.account_id) - 1,
           x.id, x.provider_key_id, x.account_id, x.scheduled_at, x.scheduled_at
      FROM (SELECT p.id, p.provider_key_id, p.account_ids, unnest(p.account_ids) AS account_id,
                   p.scheduled_at
              FROM new_posts p) x;
    PERFORM set_config('postpace.expanding', 'off', true);
    PERFORM postpace_wake(min(p.scheduled_at)) FROM new_posts p;
    RETURN NULL;
END $$;


--
-- Name: postpace_posts_reschedule(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_posts_reschedule() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE post_targets t SET next_attempt_at = NEW.scheduled_at, due_at = NEW.scheduled_at, updated_at = now()
     WHERE postpace_target_of(t, NEW.id) AND t.status = 'scheduled' AND t.attempts = 0;
    RETURN NULL;
END $$;


--
-- Name: postpace_providers_keep_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_providers_keep_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: postpace_refuse_missing(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_refuse_missing(verb text, tab text, constr text, what text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION '% on table "%" violates foreign key constraint "%"', verb, tab, constr
        USING ERRCODE = 'foreign_key_violation', TABLE = tab, CONSTRAINT = constr, DETAIL = what;
END $$;


--
-- Name: postpace_refuse_target_id(bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_refuse_target_id(id bigint, post bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'new row for relation "post_targets" violates check constraint "post_targets_id_check"'
        USING ERRCODE = 'check_violation', TABLE = 'post_targets', COLUMN = 'id',
              CONSTRAINT = 'post_targets_id_check',
              DETAIL = format('Target id %s is not post %s''s: ids are post_id × 128 + slot (0-127).', id, post);
END $$;


--
-- Name: postpace_refuse_zone(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_refuse_zone(tz text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'new row for relation "posts" violates check constraint "posts_time_zone_check"'
        USING ERRCODE = 'check_violation', TABLE = 'posts', COLUMN = 'time_zone',
              CONSTRAINT = 'posts_time_zone_check', DETAIL = format('unknown time zone "%s"', tz);
END $$;


--
-- Name: postpace_rematch_events(text, text[], text[], text[], text[], text[], text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_rematch_events(p_provider text, p_event_ids text[], p_types text[], p_raw_types text[], p_references text[], p_post_ids text[], p_account_ids text[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    ids text[];
BEGIN
    WITH changed AS (
        UPDATE webhook_events w
           SET event_type = n.event_type, raw_type = n.raw_type, reference = n.reference,
               provider_post_id = n.post_id, account_id = n.account_id
          FROM unnest(p_event_ids, p_types, p_raw_types, p_references, p_post_ids, p_account_ids)
               AS n(event_id, event_type, raw_type, reference, post_id, account_id)
         WHERE w.provider = p_provider AND w.event_id = n.event_id AND w.applied_at IS NULL
           AND (w.event_type, w.raw_type, w.reference, w.provider_post_id, w.account_id)
               IS DISTINCT FROM (n.event_type, n.raw_type, n.reference, n.post_id, n.account_id)
        RETURNING w.event_id
    )
    SELECT array_agg(event_id) INTO ids FROM changed;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM postpace_apply_events(array_fill(p_provider, ARRAY[cardinality(ids)]), ids);
    RETURN (SELECT count(*) FROM webhook_events w
             WHERE w.provider = p_provider AND w.event_id = ANY (ids) AND w.applied_at IS NOT NULL);
END $$;


--
-- Name: postpace_retarget(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_retarget(p_post bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    made bigint;
BEGIN
    DELETE FROM post_targets t
     USING posts p
     WHERE p.id = p_post AND postpace_target_of(t, p.id) AND NOT (t.account_id = ANY (p.account_ids));
    PERFORM set_config('postpace.expanding', 'on', true);
    WITH post AS (
        SELECT p.id, p.provider_key_id, p.scheduled_at, p.account_ids FROM posts p WHERE p.id = p_post
    ), new AS (
        SELECT a.account_id, row_number() OVER (ORDER BY a.pos) AS n
          FROM post, unnest(post.account_ids) WITH ORDINALITY AS a(account_id, pos)
         WHERE NOT EXISTS (SELECT 1 FROM post_targets t
                            WHERE postpace_target_of(t, post.id) AND t.account_id = a.account_id)
    ), free AS (
        SELECT post.id * 128 + s AS id, row_number() OVER (ORDER BY s) AS n
          FROM post, generate_series(0, 127) AS s
         WHERE NOT EXISTS (SELECT 1 FROM post_targets t WHERE t.id = post.id * 128 + s)
    )
    INSERT INTO post_targets (id, post_id, provider_key_id, account_id, next_attempt_at, due_at)
    SELECT free.id, post.id, post.provider_key_id, new.account_id, post.scheduled_at, post.scheduled_at
      FROM post
      JOIN new ON true
      JOIN free ON free.n = new.n;
    GET DIAGNOSTICS made = ROW_COUNT;
    PERFORM set_config('postpace.expanding', 'off', true);
    IF made > 0 THEN
        PERFORM postpace_wake(p.scheduled_at) FROM posts p WHERE p.id = p_post;
    END IF;
END $$;


--
-- Name: postpace_settle_targets(bigint[], text[], text[], text[], jsonb[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_settle_targets(p_targets bigint[], p_types text[], p_event_ids text[], p_post_ids text[], p_payloads jsonb[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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
               lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
               due_at = NULL, lease_lapses_at = NULL, recheck_at = NULL
          FROM verdict v
         WHERE t.id = v.target_id
           AND postpace_webhook_may_settle(t.status, t.attempts, v.published)
        RETURNING 1
    )
    SELECT count(*) INTO moved FROM moved_targets;
    RETURN moved;
END $$;


--
-- Name: postpace_status_changed(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_status_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF coalesce(current_setting('postpace.status_notify', true), '') <> 'off' THEN
        PERFORM pg_notify('postpace_status', '[' || string_agg(item, ',' ORDER BY id) || ']')
           FROM (SELECT id, item, sum(length(item) + 1) OVER (ORDER BY id) AS upto
                   FROM (SELECT c.id,
                                CASE WHEN length(c.full_item) <= 1000 THEN c.full_item
                                     ELSE row_to_json(t)::text
                                END AS item
                           FROM (SELECT n.id, n.post_id, o.status AS old, n.status AS new,
                                        row_to_json(x)::text AS full_item
                                   FROM new_rows n
                                   JOIN old_rows o ON o.id = n.id
                                   LEFT JOIN posts p ON p.id = n.post_id
                                  CROSS JOIN LATERAL (
                                        SELECT n.id AS target_id, n.post_id, p.external_id,
                                               n.account_id AS account, n.provider_post_id,
                                               o.status AS old, n.status AS new) x
                                  WHERE n.status <> o.status) c
                          CROSS JOIN LATERAL (
                                SELECT c.id AS target_id, c.post_id, c.old, c.new,
                                       true AS truncated) t) i) s
          GROUP BY (upto - 1) / 6000;
    END IF;
    IF EXISTS (SELECT 1 FROM subscriptions WHERE enabled) THEN
        INSERT INTO outbox (subscription_id, event_type, key_id, post_id, target_id, data)
        SELECT s.id, e.type, e.provider_key_id, e.post_id, e.id,
               jsonb_build_object('target_id', e.id, 'post_id', e.post_id,
                                  'external_id', p.external_id, 'provider', k.provider,
                                  'key', k.label, 'account', e.account_id,
                                  'provider_post_id', e.provider_post_id,
                                  'status', e.status, 'previous_status', e.old,
                                  'error', e.last_error)
          FROM (SELECT n.*, o.status AS old, 'post.' || n.status AS type
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE n.status <> o.status
                   AND n.status IN ('published', 'failed', 'unconfirmed', 'expired')) e
          JOIN provider_keys k ON k.id = e.provider_key_id
          LEFT JOIN posts p ON p.id = e.post_id
          JOIN subscriptions s
            ON s.enabled
           AND (cardinality(s.event_types) = 0 OR e.type = ANY (s.event_types))
           AND (s.provider IS NULL OR s.provider = k.provider)
           AND (s.key_id IS NULL OR s.key_id = e.provider_key_id);
        IF FOUND THEN
            PERFORM pg_notify('postpace_outbox', '');
        END IF;
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_store_events(text[], text[], text[], text[], text[], text[], text[], text[], bigint[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_store_events(p_providers text[], p_event_ids text[], p_types text[], p_payloads text[], p_references text[], p_post_ids text[], p_account_ids text[], p_raw_types text[] DEFAULT NULL::text[], p_key_ids bigint[] DEFAULT NULL::bigint[]) RETURNS TABLE(provider text, event_id text)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
#variable_conflict use_column
DECLARE
    m_ord bigint[];     -- matches, as pairs (position in the batch, target)
    m_target bigint[];
    one_each boolean;   -- no event matched two targets, no target two events
BEGIN
    -- Lock the targets in id order, as the scheduler does, so the writers
    -- never deadlock. The match is postpace_match_targets' rule, inlined (see
    -- this function's comment): the rows it reads are the rows it locks.
    SELECT array_agg(l.ord), array_agg(l.id),
           count(DISTINCT l.ord) = count(*) AND count(DISTINCT l.id) = count(*)
      INTO m_ord, m_target, one_each
      FROM (SELECT e.ord, t.id
              FROM unnest(p_providers, p_references, p_post_ids, p_account_ids, p_types)
                   WITH ORDINALITY AS e(provider, reference, post_id, account_id, event_type, ord)
              JOIN post_targets t
                ON e.event_type IS NOT NULL
               AND (t.provider_post_id = e.post_id
                    OR (t.id = postpace_key_target(e.reference)
                        AND t.idempotency_key = e.reference)
                    OR (t.request_ref = e.reference
                        AND (e.account_id IS NULL OR t.account_id = e.account_id
                             OR NOT EXISTS (SELECT 1 FROM post_targets o
                                             WHERE o.request_ref = t.request_ref
                                               AND o.id <> t.id))))
              JOIN provider_keys k ON k.id = t.provider_key_id AND k.provider = e.provider
             ORDER BY t.id
               FOR UPDATE OF t) l;
    LOCK TABLE webhook_events IN ROW EXCLUSIVE MODE;
    PERFORM set_config('postpace.webhook_store', 'on', true)
      WHERE NOT EXISTS (SELECT 1 FROM unnest(p_providers) AS n(id)
                         WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.id = n.id));
    IF one_each THEN
        -- One event, one target: the event's type is its target's verdict.
        RETURN QUERY
        WITH stored AS (
            INSERT INTO webhook_events AS w (provider, event_id, event_type, raw_type, payload,
                                             reference, provider_post_id, account_id, key_id,
                                             target_id, applied_at)
            SELECT e.provider, e.event_id, e.event_type, coalesce(e.raw_type, e.event_type),
                   e.payload::jsonb, e.reference, e.post_id, e.account_id, e.key_id, x.target_id,
                   CASE WHEN x.target_id IS NOT NULL THEN now() END
              FROM unnest(p_providers, p_event_ids, p_types, p_payloads, p_references, p_post_ids,
                          p_account_ids, p_raw_types, p_key_ids) WITH ORDINALITY
                   AS e(provider, event_id, event_type, payload, reference, post_id, account_id,
                        raw_type, key_id, ord)
             CROSS JOIN LATERAL (SELECT m_target[array_position(m_ord, e.ord)] AS target_id) x
            ON CONFLICT ON CONSTRAINT webhook_events_pkey DO NOTHING
            RETURNING w.provider, w.event_id, w.event_type, w.provider_post_id, w.target_id,
                      w.payload
        ), moved AS (
            -- postpace_settle_targets' rules for one event, inlined.
            UPDATE post_targets t
               SET status = CASE WHEN s.event_type = 'post.published' THEN 'published'
                                 ELSE 'failed' END::target_status,
                   provider_post_id = coalesce(t.provider_post_id, s.provider_post_id),
                   last_error = CASE WHEN s.event_type = 'post.published' THEN t.last_error
                                     ELSE jsonb_build_object(
                                              'source', 'webhook', 'event_id', s.event_id,
                                              'error', s.payload -> 'data' -> 'error')
                                END,
                   lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                   due_at = NULL, lease_lapses_at = NULL, recheck_at = NULL
              FROM stored s
             WHERE t.id = s.target_id
               AND postpace_webhook_may_settle(t.status, t.attempts,
                                               s.event_type = 'post.published')
            RETURNING 1
        )
        SELECT s.provider, s.event_id FROM stored s;
    ELSE
        -- The general way: a verdict per target that weighs all its events.
        RETURN QUERY
        WITH e AS (
            SELECT DISTINCT ON (e.provider, e.event_id) e.*
              FROM unnest(p_providers, p_event_ids, p_types, p_payloads, p_references, p_post_ids,
                          p_account_ids, p_raw_types, p_key_ids) WITH ORDINALITY
                   AS e(provider, event_id, event_type, payload, reference, post_id, account_id,
                        raw_type, key_id, ord)
             ORDER BY e.provider, e.event_id, e.ord
        ), m AS (
            SELECT * FROM unnest(m_ord, m_target) AS m(ord, target_id)
        ), stored AS (
            INSERT INTO webhook_events AS w (provider, event_id, event_type, raw_type, payload,
                                             reference, provider_post_id, account_id, key_id,
                                             target_id, applied_at)
            SELECT e.provider, e.event_id, e.event_type, coalesce(e.raw_type, e.event_type),
                   e.payload::jsonb, e.reference, e.post_id, e.account_id, e.key_id, f.target_id,
                   CASE WHEN f.target_id IS NOT NULL THEN now() END
              FROM e LEFT JOIN (SELECT m.ord, min(m.target_id) AS target_id
                                  FROM m GROUP BY m.ord) f USING (ord)
            ON CONFLICT ON CONSTRAINT webhook_events_pkey DO NOTHING
            RETURNING w.provider, w.event_id, w.event_type, w.provider_post_id, w.payload
        ), verdict AS (
            -- postpace_settle_targets' rules, inlined.
            SELECT m.target_id,
                   bool_or(s.event_type = 'post.published') AS published,
                   min(s.provider_post_id) AS provider_post_id,
                   (array_agg(jsonb_build_object('source', 'webhook', 'event_id', s.event_id,
                                                 'error', s.payload -> 'data' -> 'error')
                              ORDER BY s.event_id)
                        FILTER (WHERE s.event_type = 'post.failed'))[1] AS error
              FROM stored s
              JOIN e ON e.provider = s.provider AND e.event_id = s.event_id
              JOIN m ON m.ord = e.ord
             GROUP BY m.target_id
        ), moved AS (
            UPDATE post_targets t
               SET status = CASE WHEN v.published THEN 'published' ELSE 'failed' END::target_status,
                   provider_post_id = coalesce(t.provider_post_id, v.provider_post_id),
                   last_error = CASE WHEN v.published THEN t.last_error ELSE v.error END,
                   lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                   due_at = NULL, lease_lapses_at = NULL, recheck_at = NULL
              FROM verdict v
             WHERE t.id = v.target_id
               AND postpace_webhook_may_settle(t.status, t.attempts, v.published)
            RETURNING 1
        )
        SELECT s.provider, s.event_id FROM stored s;
    END IF;
    PERFORM set_config('postpace.webhook_store', '', true);
END $$;


--
-- Name: FUNCTION postpace_store_events(p_providers text[], p_event_ids text[], p_types text[], p_payloads text[], p_references text[], p_post_ids text[], p_account_ids text[], p_raw_types text[], p_key_ids bigint[]); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.postpace_store_events(p_providers text[], p_event_ids text[], p_types text[], p_payloads text[], p_references text[], p_post_ids text[], p_account_ids text[], p_raw_types text[], p_key_ids bigint[]) IS 'Intake''s fast path. It inlines the match rule of postpace_match_targets (in its lock statement) and the settle rule of postpace_settle_targets (one event per target, and the general way): change them together; tests/integration/test_schema.c holds them in line.';


--
-- Name: postpace_subscriptions_drop(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_subscriptions_drop() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM outbox WHERE subscription_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;


--
-- Name: postpace_sweep_pending(integer, integer, timestamp with time zone, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_sweep_pending(p_window_s integer, p_budget integer, p_after_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_provider text DEFAULT NULL::text, p_after_event text DEFAULT NULL::text, OUT applied integer, OUT next_at timestamp with time zone, OUT next_provider text, OUT next_event text) RETURNS record
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $$
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


--
-- Name: postpace_target_of(public.post_targets, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_target_of(t public.post_targets, post bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT t.post_id = post AND t.id BETWEEN post * 128 AND post * 128 + 127
$$;


--
-- Name: postpace_targets_check_update(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_targets_check_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM 1 FROM posts p WHERE p.id = NEW.post_id FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM postpace_refuse_missing('insert or update', 'post_targets', 'post_targets_post_id_fkey',
            format('Key (post_id)=(%s) is not present in table "posts".', NEW.post_id));
    END IF;
    IF NEW.id >> 7 <> NEW.post_id THEN
        PERFORM postpace_refuse_target_id(NEW.id, NEW.post_id);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_targets_guard(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_targets_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.status = NEW.status THEN
        RETURN NEW;
    END IF;
    IF OLD.status IN ('published', 'cancelled', 'expired')
       OR (OLD.status = 'failed' AND NEW.status NOT IN ('published', 'scheduled')) THEN
        RAISE EXCEPTION 'post target % is %, which is final (refused move to %)',
            OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: postpace_targets_insert_guard(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_targets_insert_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF current_setting('postpace.expanding', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'post_targets rows are made by postpace, not inserted'
            USING ERRCODE = 'feature_not_supported', TABLE = 'post_targets',
                  HINT = 'INSERT INTO posts: a post expands into one target per account; '
                         'PATCH /v1/posts/{id} changes its accounts.';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_targets_release_events(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_targets_release_events() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows) THEN
        LOCK TABLE webhook_events IN SHARE ROW EXCLUSIVE MODE;
        UPDATE webhook_events w SET target_id = NULL
         WHERE w.target_id IN (SELECT o.id FROM old_rows o);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_targets_rewake(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_targets_rewake() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    wrong bigint[];
BEGIN
    SELECT array_agg(n.id) INTO wrong
      FROM new_rows n
     WHERE (n.due_at, n.lease_lapses_at, n.recheck_at) IS DISTINCT FROM
           (CASE WHEN n.status = 'scheduled' THEN n.next_attempt_at END,
            CASE WHEN n.status = 'publishing' THEN n.lease_expires_at END,
            CASE WHEN n.status = 'unconfirmed' THEN n.next_attempt_at END);
    IF wrong IS NOT NULL THEN
        UPDATE post_targets t
           SET due_at = CASE WHEN t.status = 'scheduled' THEN t.next_attempt_at END,
               lease_lapses_at = CASE WHEN t.status = 'publishing' THEN t.lease_expires_at END,
               recheck_at = CASE WHEN t.status = 'unconfirmed' THEN t.next_attempt_at END
         WHERE t.id = ANY (wrong);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: postpace_truncate_check(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_truncate_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: postpace_utc_text(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_utc_text(t timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE
    AS $_$
    SELECT regexp_replace(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '\.?0+$', '')
           || 'Z'
$_$;


--
-- Name: postpace_wake(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_wake(due timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF due IS NOT NULL THEN
        PERFORM pg_notify('postpace_due', (floor(extract(epoch FROM due) * 1000))::bigint::text);
    END IF;
END $$;


--
-- Name: postpace_webhook_events_refs(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_webhook_events_refs() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: postpace_webhook_may_settle(public.target_status, integer, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.postpace_webhook_may_settle(status public.target_status, attempts integer, published boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN published
                THEN status IN ('scheduled', 'publishing', 'submitted', 'unconfirmed', 'failed')
                ELSE status IN ('publishing', 'submitted', 'unconfirmed')
                     OR (status = 'scheduled' AND attempts > 0)
           END
$$;


--
-- Name: attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.attempts (
    id bigint NOT NULL,
    provider_key_id bigint NOT NULL,
    target_ids bigint[] NOT NULL,
    route text NOT NULL,
    units integer DEFAULT 1 NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    http_status integer,
    outcome text DEFAULT 'pending'::text NOT NULL,
    retry_after_ms bigint,
    response_excerpt text,
    instance text,
    accounts integer DEFAULT 1 NOT NULL,
    posts integer DEFAULT 1 NOT NULL,
    CONSTRAINT attempts_accounts_check CHECK ((accounts >= 0)),
    CONSTRAINT attempts_http_status_check CHECK (((http_status >= 100) AND (http_status <= 599))),
    CONSTRAINT attempts_outcome_check CHECK ((outcome = ANY (ARRAY['pending'::text, 'ok'::text, 'rate_limited'::text, 'retryable'::text, 'permanent'::text, 'unknown'::text]))),
    CONSTRAINT attempts_posts_check CHECK ((posts >= 0)),
    CONSTRAINT attempts_response_excerpt_check CHECK ((length(response_excerpt) <= 2048)),
    CONSTRAINT attempts_retry_after_ms_check CHECK ((retry_after_ms >= 0)),
    CONSTRAINT attempts_target_ids_check CHECK ((cardinality(target_ids) >= 1)),
    CONSTRAINT attempts_units_check CHECK ((units >= 0))
);


--
-- Name: attempts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: key_leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.key_leases (
    group_id bigint NOT NULL,
    owner text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    taken_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: operator_actions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_actions (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    subject jsonb NOT NULL,
    CONSTRAINT operator_actions_action_check CHECK ((action = ANY (ARRAY['pause'::text, 'resume'::text, 'retry'::text, 'cancel'::text, 'replay'::text, 'subscribe'::text, 'unsubscribe'::text]))),
    CONSTRAINT operator_actions_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 200))),
    CONSTRAINT operator_actions_subject_check CHECK ((jsonb_typeof(subject) = 'object'::text))
);


--
-- Name: operator_actions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.operator_actions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.operator_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    subscription_id bigint NOT NULL,
    event_type text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    key_id bigint,
    post_id bigint,
    target_id bigint,
    data jsonb NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    retry_from timestamp with time zone DEFAULT now() NOT NULL,
    last_status integer,
    last_error text,
    delivered_at timestamp with time zone,
    due_at timestamp with time zone GENERATED ALWAYS AS (
CASE
    WHEN (state = 'pending'::text) THEN next_attempt_at
    ELSE NULL::timestamp with time zone
END) STORED,
    CONSTRAINT outbox_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT outbox_data_check CHECK ((jsonb_typeof(data) = 'object'::text)),
    CONSTRAINT outbox_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'delivered'::text, 'dead'::text])))
);


--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: posts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.posts (
    id bigint NOT NULL,
    external_id text COLLATE pg_catalog."C",
    provider_key_id bigint NOT NULL,
    account_ids text[] NOT NULL,
    content text NOT NULL,
    media jsonb DEFAULT '[]'::jsonb NOT NULL,
    scheduled_at timestamp with time zone NOT NULL,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT posts_account_ids_check CHECK ((((cardinality(account_ids) >= 1) AND (cardinality(account_ids) <= 100)) AND (array_position(account_ids, NULL::text) IS NULL))),
    CONSTRAINT posts_content_check CHECK ((btrim(content) <> ''::text)),
    CONSTRAINT posts_external_id_check CHECK (((length(external_id) >= 1) AND (length(external_id) <= 200))),
    CONSTRAINT posts_media_check CHECK ((jsonb_typeof(media) = 'array'::text))
);


--
-- Name: posts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.posts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.posts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: provider_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.provider_keys (
    id bigint NOT NULL,
    provider text NOT NULL,
    label text NOT NULL,
    plan text DEFAULT 'default'::text NOT NULL,
    provider_user_id text,
    provider_account_id text,
    secret_ref text NOT NULL,
    webhook_secret_ref text,
    base_url text,
    time_scale double precision,
    webhook_fields jsonb,
    request_fields jsonb,
    enabled boolean DEFAULT true NOT NULL,
    paused_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT provider_keys_base_url_check CHECK ((base_url ~ '^https?://'::text)),
    CONSTRAINT provider_keys_label_check CHECK ((label ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'::text)),
    CONSTRAINT provider_keys_request_fields_check CHECK ((jsonb_typeof(request_fields) = 'object'::text)),
    CONSTRAINT provider_keys_secret_ref_check CHECK ((secret_ref ~ '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$'::text)),
    CONSTRAINT provider_keys_time_scale_check CHECK ((time_scale > (0)::double precision)),
    CONSTRAINT provider_keys_webhook_fields_check CHECK ((jsonb_typeof(webhook_fields) = 'object'::text)),
    CONSTRAINT provider_keys_webhook_secret_ref_check CHECK ((webhook_secret_ref ~ '^((env:[A-Za-z_][A-Za-z0-9_]*|file:/\S+)( |$))+$'::text))
);


--
-- Name: provider_keys_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.provider_keys ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.provider_keys_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: providers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.providers (
    id text NOT NULL,
    name text NOT NULL,
    base_url text NOT NULL,
    reset_kind text NOT NULL,
    batch_accounts boolean NOT NULL,
    max_content_len integer,
    max_media integer,
    max_media_bytes bigint,
    media_types text[],
    time_scale double precision DEFAULT 1 NOT NULL,
    webhook_fields jsonb DEFAULT '{}'::jsonb NOT NULL,
    request_fields jsonb DEFAULT '{}'::jsonb NOT NULL,
    lookup jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT providers_base_url_check CHECK ((base_url ~ '^https?://'::text)),
    CONSTRAINT providers_id_check CHECK ((id ~ '^[a-z][a-z0-9_]*$'::text)),
    CONSTRAINT providers_lookup_check CHECK ((jsonb_typeof(lookup) = 'object'::text)),
    CONSTRAINT providers_max_content_len_check CHECK ((max_content_len > 0)),
    CONSTRAINT providers_max_media_bytes_check CHECK ((max_media_bytes > 0)),
    CONSTRAINT providers_max_media_check CHECK ((max_media >= 0)),
    CONSTRAINT providers_request_fields_check CHECK ((jsonb_typeof(request_fields) = 'object'::text)),
    CONSTRAINT providers_reset_kind_check CHECK ((reset_kind = ANY (ARRAY['unix'::text, 'seconds'::text, 'none'::text]))),
    CONSTRAINT providers_time_scale_check CHECK ((time_scale > (0)::double precision)),
    CONSTRAINT providers_webhook_fields_check CHECK ((jsonb_typeof(webhook_fields) = 'object'::text))
);


--
-- Name: rate_limits; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rate_limits (
    id bigint NOT NULL,
    provider text NOT NULL,
    plan text,
    key_id bigint,
    scope public.limit_scope NOT NULL,
    route text NOT NULL,
    kind public.window_kind NOT NULL,
    window_ms bigint,
    max_units bigint NOT NULL,
    cost public.limit_cost DEFAULT 'request'::public.limit_cost NOT NULL,
    doc text DEFAULT ''::text NOT NULL,
    CONSTRAINT rate_limits_check CHECK (((kind = ANY (ARRAY['rolling'::public.window_kind, 'fixed'::public.window_kind])) = ((window_ms IS NOT NULL) AND (window_ms > 0)))),
    CONSTRAINT rate_limits_check1 CHECK (((key_id IS NULL) OR (plan IS NULL))),
    CONSTRAINT rate_limits_max_units_check CHECK ((max_units > 0)),
    CONSTRAINT rate_limits_route_check CHECK (((route = '*'::text) OR (route = ANY (ARRAY['read'::text, 'write'::text])) OR (route ~ '^(GET|POST|PUT|PATCH|DELETE) /'::text)))
);


--
-- Name: rate_limits_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.rate_limits ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.rate_limits_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT schema_migrations_checksum_check CHECK ((checksum ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT schema_migrations_version_check CHECK ((version ~ '^[0-9]{4}$'::text))
);


--
-- Name: subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.subscriptions (
    id bigint NOT NULL,
    url text NOT NULL,
    secret_ref text NOT NULL,
    event_types text[] DEFAULT '{}'::text[] NOT NULL,
    provider text,
    key_id bigint,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT subscriptions_event_types_check CHECK ((event_types <@ ARRAY['post.published'::text, 'post.failed'::text, 'post.unconfirmed'::text, 'post.expired'::text, 'key.paused'::text, 'key.quota_exhausted'::text])),
    CONSTRAINT subscriptions_secret_ref_check CHECK ((secret_ref ~ '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$'::text)),
    CONSTRAINT subscriptions_url_check CHECK ((url ~ '^https?://[^[:space:]]+$'::text))
);


--
-- Name: subscriptions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.subscriptions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.subscriptions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: time_zones; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.time_zones (
    name text NOT NULL
);


--
-- Name: attempts attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attempts
    ADD CONSTRAINT attempts_pkey PRIMARY KEY (id);


--
-- Name: key_leases key_leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.key_leases
    ADD CONSTRAINT key_leases_pkey PRIMARY KEY (group_id);


--
-- Name: operator_actions operator_actions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_pkey PRIMARY KEY (id);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);


--
-- Name: post_targets post_targets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.post_targets
    ADD CONSTRAINT post_targets_pkey PRIMARY KEY (id);


--
-- Name: posts posts_external_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posts
    ADD CONSTRAINT posts_external_id_key UNIQUE (external_id);


--
-- Name: posts posts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posts
    ADD CONSTRAINT posts_pkey PRIMARY KEY (id);


--
-- Name: provider_keys provider_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.provider_keys
    ADD CONSTRAINT provider_keys_pkey PRIMARY KEY (id);


--
-- Name: provider_keys provider_keys_provider_label_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.provider_keys
    ADD CONSTRAINT provider_keys_provider_label_key UNIQUE (provider, label);


--
-- Name: providers providers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.providers
    ADD CONSTRAINT providers_pkey PRIMARY KEY (id);


--
-- Name: rate_limits rate_limits_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rate_limits
    ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: subscriptions subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscriptions
    ADD CONSTRAINT subscriptions_pkey PRIMARY KEY (id);


--
-- Name: time_zones time_zones_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.time_zones
    ADD CONSTRAINT time_zones_pkey PRIMARY KEY (name);


--
-- Name: webhook_events webhook_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (provider, event_id);


--
-- Name: attempts_key_sent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX attempts_key_sent ON public.attempts USING btree (provider_key_id, sent_at);


--
-- Name: outbox_dead; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_dead ON public.outbox USING btree (id) WHERE (state = 'dead'::text);


--
-- Name: outbox_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_due ON public.outbox USING btree (due_at) WHERE (due_at IS NOT NULL);


--
-- Name: outbox_key_events; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_key_events ON public.outbox USING btree (key_id, event_type) WHERE (target_id IS NULL);


--
-- Name: outbox_post; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_post ON public.outbox USING btree (post_id) WHERE (post_id IS NOT NULL);


--
-- Name: post_targets_key_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX post_targets_key_due ON public.post_targets USING btree (provider_key_id, due_at, id) WHERE (due_at IS NOT NULL);


--
-- Name: post_targets_provider_post_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX post_targets_provider_post_id ON public.post_targets USING btree (provider_post_id) WHERE (provider_post_id IS NOT NULL);


--
-- Name: post_targets_publishing; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX post_targets_publishing ON public.post_targets USING btree (lease_lapses_at) WHERE (lease_lapses_at IS NOT NULL);


--
-- Name: post_targets_request_ref; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX post_targets_request_ref ON public.post_targets USING btree (request_ref) WHERE (request_ref IS NOT NULL);


--
-- Name: post_targets_unconfirmed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX post_targets_unconfirmed ON public.post_targets USING btree (recheck_at) WHERE (recheck_at IS NOT NULL);


--
-- Name: posts_scheduled_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_scheduled_at ON public.posts USING btree (scheduled_at);


--
-- Name: rate_limits_identity; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX rate_limits_identity ON public.rate_limits USING btree (provider, COALESCE(plan, ''::text), COALESCE(key_id, (0)::bigint), scope, route, kind, COALESCE(window_ms, (0)::bigint));


--
-- Name: webhook_events_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_events_pending ON public.webhook_events USING btree (provider, event_id) WHERE (applied_at IS NULL);


--
-- Name: webhook_events_pending_post; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_events_pending_post ON public.webhook_events USING btree (provider_post_id) WHERE (applied_at IS NULL);


--
-- Name: webhook_events_pending_received; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_events_pending_received ON public.webhook_events USING btree (received_at, provider, event_id) WHERE (applied_at IS NULL);


--
-- Name: webhook_events_pending_ref; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_events_pending_ref ON public.webhook_events USING btree (reference) WHERE (applied_at IS NULL);


--
-- Name: webhook_events_target; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_events_target ON public.webhook_events USING btree (target_id) WHERE (target_id IS NOT NULL);


--
-- Name: post_targets post_targets_apply_pending_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_apply_pending_update AFTER UPDATE ON public.post_targets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_apply_pending();


--
-- Name: post_targets post_targets_check_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_check_update AFTER UPDATE OF post_id, id ON public.post_targets FOR EACH ROW WHEN (((old.post_id IS DISTINCT FROM new.post_id) OR (old.id IS DISTINCT FROM new.id))) EXECUTE FUNCTION public.postpace_targets_check_update();


--
-- Name: post_targets post_targets_guard; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_guard AFTER UPDATE OF status ON public.post_targets FOR EACH ROW WHEN (((old.status = ANY (ARRAY['published'::public.target_status, 'failed'::public.target_status, 'cancelled'::public.target_status, 'expired'::public.target_status])) AND (old.status IS DISTINCT FROM new.status))) EXECUTE FUNCTION public.postpace_targets_guard();


--
-- Name: post_targets post_targets_insert_guard; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_insert_guard BEFORE INSERT ON public.post_targets FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_targets_insert_guard();


--
-- Name: post_targets post_targets_notify_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_notify_update AFTER UPDATE ON public.post_targets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((current_setting('postpace.webhook_store'::text, true) IS DISTINCT FROM 'on'::text)) EXECUTE FUNCTION public.postpace_notify_due();


--
-- Name: post_targets post_targets_release_events; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_release_events AFTER DELETE ON public.post_targets REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_targets_release_events();


--
-- Name: post_targets post_targets_rewake_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_rewake_update AFTER UPDATE ON public.post_targets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_targets_rewake();


--
-- Name: post_targets post_targets_status_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER post_targets_status_changed AFTER UPDATE ON public.post_targets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_status_changed();


--
-- Name: posts posts_cascade; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER posts_cascade AFTER DELETE ON public.posts REFERENCING OLD TABLE AS old_posts FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_posts_cascade();


--
-- Name: posts posts_check_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER posts_check_insert AFTER INSERT ON public.posts REFERENCING NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_posts_check_insert();


--
-- Name: posts posts_check_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER posts_check_update AFTER UPDATE OF time_zone, provider_key_id, id ON public.posts FOR EACH ROW WHEN (((old.time_zone IS DISTINCT FROM new.time_zone) OR (old.provider_key_id IS DISTINCT FROM new.provider_key_id) OR (old.id IS DISTINCT FROM new.id))) EXECUTE FUNCTION public.postpace_posts_check_update();


--
-- Name: posts posts_expand; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER posts_expand AFTER INSERT ON public.posts REFERENCING NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_posts_expand();


--
-- Name: posts posts_reschedule; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER posts_reschedule AFTER UPDATE OF scheduled_at ON public.posts FOR EACH ROW WHEN ((old.scheduled_at IS DISTINCT FROM new.scheduled_at)) EXECUTE FUNCTION public.postpace_posts_reschedule();


--
-- Name: posts posts_truncate_check; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER posts_truncate_check AFTER TRUNCATE ON public.posts FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_truncate_check();


--
-- Name: provider_keys provider_keys_check_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER provider_keys_check_delete AFTER DELETE ON public.provider_keys REFERENCING OLD TABLE AS old_keys FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_keys_check_delete();


--
-- Name: provider_keys provider_keys_check_plan; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER provider_keys_check_plan BEFORE INSERT OR UPDATE OF provider, plan ON public.provider_keys FOR EACH ROW EXECUTE FUNCTION public.postpace_keys_check_plan();


--
-- Name: provider_keys provider_keys_check_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER provider_keys_check_update AFTER UPDATE OF id ON public.provider_keys FOR EACH ROW WHEN ((old.id IS DISTINCT FROM new.id)) EXECUTE FUNCTION public.postpace_keys_check_update();


--
-- Name: provider_keys provider_keys_paused; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER provider_keys_paused AFTER UPDATE OF paused_at ON public.provider_keys FOR EACH ROW WHEN (((old.paused_at IS NULL) AND (new.paused_at IS NOT NULL))) EXECUTE FUNCTION public.postpace_keys_paused();


--
-- Name: provider_keys provider_keys_truncate_check; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER provider_keys_truncate_check AFTER TRUNCATE ON public.provider_keys FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_truncate_check();


--
-- Name: providers providers_keep_events_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER providers_keep_events_delete AFTER DELETE ON public.providers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_providers_keep_events();


--
-- Name: providers providers_keep_events_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER providers_keep_events_update AFTER UPDATE ON public.providers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_providers_keep_events();


--
-- Name: subscriptions subscriptions_drop; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER subscriptions_drop AFTER DELETE ON public.subscriptions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_subscriptions_drop();


--
-- Name: webhook_events webhook_events_refs_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_events_refs_insert AFTER INSERT ON public.webhook_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((current_setting('postpace.webhook_store'::text, true) IS DISTINCT FROM 'on'::text)) EXECUTE FUNCTION public.postpace_webhook_events_refs();


--
-- Name: webhook_events webhook_events_refs_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_events_refs_update AFTER UPDATE ON public.webhook_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.postpace_webhook_events_refs();


--
-- Name: attempts attempts_provider_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attempts
    ADD CONSTRAINT attempts_provider_key_id_fkey FOREIGN KEY (provider_key_id) REFERENCES public.provider_keys(id);


--
-- Name: key_leases key_leases_group_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.key_leases
    ADD CONSTRAINT key_leases_group_id_fkey FOREIGN KEY (group_id) REFERENCES public.provider_keys(id) ON DELETE CASCADE;


--
-- Name: provider_keys provider_keys_provider_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.provider_keys
    ADD CONSTRAINT provider_keys_provider_fkey FOREIGN KEY (provider) REFERENCES public.providers(id);


--
-- Name: rate_limits rate_limits_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rate_limits
    ADD CONSTRAINT rate_limits_key_id_fkey FOREIGN KEY (key_id) REFERENCES public.provider_keys(id) ON DELETE CASCADE;


--
-- Name: rate_limits rate_limits_provider_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rate_limits
    ADD CONSTRAINT rate_limits_provider_fkey FOREIGN KEY (provider) REFERENCES public.providers(id);


--
-- Name: subscriptions subscriptions_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscriptions
    ADD CONSTRAINT subscriptions_key_id_fkey FOREIGN KEY (key_id) REFERENCES public.provider_keys(id) ON DELETE CASCADE;


--
-- Name: subscriptions subscriptions_provider_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscriptions
    ADD CONSTRAINT subscriptions_provider_fkey FOREIGN KEY (provider) REFERENCES public.providers(id);


--
-- PostgreSQL database dump complete
--


