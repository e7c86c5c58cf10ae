-- Schema v1: the calendar. Constraints here are the last line of defence for
-- every writer (API, importer, or any program that INSERTs directly).

-- The life of one post on one account; mirrors enum tgt_status in C.
CREATE TYPE target_status AS ENUM (
    'scheduled',    -- waiting for next_attempt_at; the scheduler may claim it
    'publishing',   -- claimed; the request is about to leave or in flight
    'submitted',    -- the provider accepted it (2xx); its webhook settles it
    'unconfirmed',  -- the request left but its fate is unknown; never re-sent blindly
    'published',    -- terminal: the provider says it is live
    'failed',       -- terminal: permanent error, or retries exhausted
    'cancelled',    -- terminal: the user withdrew it before it was sent
    'expired'       -- terminal: overdue beyond the catch-up window
);

CREATE TYPE window_kind AS ENUM (
    'rolling',        -- exact sliding window of window_ms
    'fixed',          -- counter reset at multiples of window_ms since the epoch (clock hour, UTC midnight)
    'calendar_month', -- counter reset at 00:00 UTC on the 1st of each month
    'lifetime'        -- never resets (a plan's total allowance)
);

CREATE TYPE limit_scope AS ENUM (
    'key',      -- per API key
    'user',     -- per provider user, shared by all of that user's keys
    'account'   -- per provider account, shared by all of its keys
);

CREATE TYPE limit_cost AS ENUM (
    'request',  -- one unit per HTTP request
    'post',     -- one unit per post created (a batched request still costs one)
    'account'   -- one unit per account named in the request
);

-- The IANA zone names this server knows, copied once from pg_timezone_names
-- (a scan of the zone files) so that checking a name is a cheap index probe,
-- not a zone load inside an exception block for every row. POSIX-style
-- strings ('UTC+5') and the posix/ and right/ trees are left out.
CREATE TABLE time_zones (name text PRIMARY KEY);
INSERT INTO time_zones
SELECT name FROM pg_timezone_names
 WHERE name !~ '^(posix|right)/' AND name <> 'posixrules' AND name ~ '^[A-Za-z]';

CREATE FUNCTION postpace_is_time_zone(tz text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM time_zones WHERE name = tz)
$$;

CREATE TABLE providers (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]*$'),
    name            text NOT NULL,
    base_url        text NOT NULL CHECK (base_url ~ '^https?://'),
    -- How X-RateLimit-Reset is meant: a unix time, or seconds left.
    reset_kind      text NOT NULL CHECK (reset_kind IN ('unix', 'seconds', 'none')),
    -- Whether one create request may carry several accounts.
    batch_accounts  boolean NOT NULL,
    max_content_len integer CHECK (max_content_len > 0),
    max_media       integer CHECK (max_media >= 0),
    max_media_bytes bigint CHECK (max_media_bytes > 0),
    media_types     text[],
    -- Divides every window length, so tests and demos run days in minutes.
    time_scale      double precision NOT NULL DEFAULT 1 CHECK (time_scale > 0)
);

CREATE TABLE provider_keys (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider            text NOT NULL REFERENCES providers,
    label               text NOT NULL CHECK (label ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    plan                text NOT NULL DEFAULT 'default',
    provider_user_id    text,
    provider_account_id text,
    -- Where the API secret lives: 'env:NAME' or 'file:/path'. Never the secret.
    secret_ref          text NOT NULL CHECK (secret_ref ~ '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$'),
    -- Where the webhook signing secrets live (several, space-separated refs, during rotation).
    webhook_secret_ref  text CHECK (webhook_secret_ref ~ '^((env:[A-Za-z_][A-Za-z0-9_]*|file:/\S+)( |$))+$'),
    base_url            text CHECK (base_url ~ '^https?://'),   -- overrides providers.base_url
    time_scale          double precision CHECK (time_scale > 0), -- overrides providers.time_scale
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, label)
);

-- Every documented limit. A row with key_id set overrides (same scope, route,
-- kind and window) the provider's row for that key; plan restricts a row to
-- the keys on that plan.
CREATE TABLE rate_limits (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider    text NOT NULL REFERENCES providers,
    plan        text,
    key_id      bigint REFERENCES provider_keys ON DELETE CASCADE,
    scope       limit_scope NOT NULL,
    -- '*' every request; 'read' / 'write' method classes; or 'METHOD /path'.
    route       text NOT NULL CHECK (route = '*' OR route IN ('read', 'write') OR route ~ '^(GET|POST|PUT|PATCH|DELETE) /'),
    kind        window_kind NOT NULL,
    window_ms   bigint,
    max_units   bigint NOT NULL CHECK (max_units > 0),
    cost        limit_cost NOT NULL DEFAULT 'request',
    doc         text NOT NULL DEFAULT '',
    CHECK ((kind IN ('rolling', 'fixed')) = (window_ms IS NOT NULL AND window_ms > 0)),
    CHECK (key_id IS NULL OR plan IS NULL)
);
CREATE UNIQUE INDEX rate_limits_identity
    ON rate_limits (provider, coalesce(plan, ''), coalesce(key_id, 0), scope, route, kind,
                    coalesce(window_ms, 0));

CREATE TABLE posts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id       text UNIQUE CHECK (length(external_id) BETWEEN 1 AND 200),
    provider_key_id   bigint NOT NULL REFERENCES provider_keys,
    account_ids       text[] NOT NULL CHECK (cardinality(account_ids) BETWEEN 1 AND 100
                                             AND array_position(account_ids, NULL) IS NULL),
    content           text NOT NULL CHECK (length(btrim(content)) > 0),
    media             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(media) = 'array'),
    scheduled_at      timestamptz NOT NULL,
    time_zone         text NOT NULL DEFAULT 'UTC' CHECK (postpace_is_time_zone(time_zone)),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_scheduled_at ON posts (scheduled_at);

CREATE TABLE post_targets (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id          bigint NOT NULL REFERENCES posts ON DELETE CASCADE,
    -- Copied from the post by the expand trigger (the post's foreign key
    -- already checks it); not checked again per target, which is half the
    -- cost of a bulk import's foreign-key checks.
    provider_key_id  bigint NOT NULL,
    account_id       text NOT NULL CHECK (length(account_id) > 0),
    status           target_status NOT NULL DEFAULT 'scheduled',
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    provider_post_id text,
    idempotency_key  text NOT NULL UNIQUE,
    last_error       jsonb CHECK (last_error IS NULL OR jsonb_typeof(last_error) = 'object'),
    lease_owner      text,
    lease_expires_at timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (post_id, account_id),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
-- The scheduler's "what is due" query reads only this partial index.
CREATE INDEX post_targets_due ON post_targets (next_attempt_at, id) WHERE status = 'scheduled';

-- One row per request sent: the limiter's durable memory.
CREATE TABLE attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_key_id  bigint NOT NULL REFERENCES provider_keys,
    target_ids       bigint[] NOT NULL CHECK (cardinality(target_ids) >= 1),
    route            text NOT NULL,
    units            integer NOT NULL DEFAULT 1 CHECK (units >= 0),
    sent_at          timestamptz NOT NULL,
    finished_at      timestamptz,
    http_status      integer CHECK (http_status BETWEEN 100 AND 599),
    outcome          text NOT NULL DEFAULT 'pending'
                     CHECK (outcome IN ('pending', 'ok', 'rate_limited', 'retryable', 'permanent', 'unknown')),
    retry_after_ms   bigint CHECK (retry_after_ms >= 0),
    response_excerpt text CHECK (length(response_excerpt) <= 2048),
    instance         text
);
CREATE INDEX attempts_key_sent ON attempts (provider_key_id, sent_at);

CREATE TABLE webhook_events (
    provider     text NOT NULL REFERENCES providers,
    event_id     text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    event_type   text NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    target_id    bigint REFERENCES post_targets ON DELETE SET NULL,
    applied_at   timestamptz,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX webhook_events_pending ON webhook_events (provider) WHERE applied_at IS NULL;

-- Each post expands into one target per account, so direct SQL writers only
-- INSERT INTO posts. Once per statement: a million-row import is one INSERT.
CREATE FUNCTION postpace_posts_expand() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO post_targets (post_id, provider_key_id, account_id, next_attempt_at, idempotency_key)
    SELECT p.id, p.provider_key_id, a, p.scheduled_at, 'pp-' || p.id || '-' || md5(a)
      FROM new_posts p, unnest(p.account_ids) AS a;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_expand AFTER INSERT ON posts
    REFERENCING NEW TABLE AS new_posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_posts_expand();

-- Rescheduling a post moves its targets that have not been tried yet.
CREATE FUNCTION postpace_posts_reschedule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE post_targets SET next_attempt_at = NEW.scheduled_at, updated_at = now()
     WHERE post_id = NEW.id AND status = 'scheduled' AND attempts = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_reschedule AFTER UPDATE OF scheduled_at ON posts
    FOR EACH ROW WHEN (OLD.scheduled_at IS DISTINCT FROM NEW.scheduled_at)
    EXECUTE FUNCTION postpace_posts_reschedule();

-- Terminal states never regress. 'failed' may still learn that the post went
-- out after all (a late post.published), or be re-queued by an operator.
CREATE FUNCTION postpace_targets_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER post_targets_guard BEFORE UPDATE OF status ON post_targets
    FOR EACH ROW WHEN (OLD.status IN ('published', 'failed', 'cancelled', 'expired')
                       AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION postpace_targets_guard();

-- Wakes the scheduler (channel postpace_due, payload: the earliest newly due
-- time in epoch milliseconds) once per statement, when rows become
-- claimable or due sooner than before. A hint only: the scheduler also polls.
CREATE FUNCTION postpace_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    due timestamptz;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT min(n.next_attempt_at) INTO due FROM new_rows n WHERE n.status = 'scheduled';
    ELSE
        SELECT min(n.next_attempt_at) INTO due
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.status = 'scheduled'
           AND (o.status <> 'scheduled' OR n.next_attempt_at < o.next_attempt_at);
    END IF;
    IF due IS NOT NULL THEN
        PERFORM pg_notify('postpace_due', (floor(extract(epoch FROM due) * 1000))::bigint::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER post_targets_notify_insert AFTER INSERT ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_notify_due();
CREATE TRIGGER post_targets_notify_update AFTER UPDATE ON post_targets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_notify_due();
