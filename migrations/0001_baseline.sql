-- postpace's schema, as one design. Read top to bottom: types, tables (with
-- their indexes and the rows they are seeded with), functions, triggers; each
-- says why it is shaped so.
--
-- This is the baseline: until the first release it may be rewritten in place
-- (a development database is then dropped and migrated again; README
-- "Database"). From the first release on, migrations are append-only: a
-- change is a new file migrations/NNNN_name.sql, and `postpace migrate`
-- refuses an applied file that was edited. sql/schema.sql is what
-- pg_dump --schema-only prints after migrating (tests/schema_dump.sh writes
-- it; the test schema_dump fails when it is stale).
--
-- Constraints here are the last line of defence for every writer (the API,
-- the importer, or any program that INSERTs directly): some are foreign keys
-- and checks, some are statement triggers that check the same rules set-wise
-- and raise the same errors (see "References, checked once per statement").


-- ===========================================================================
-- Types
-- ===========================================================================

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


-- ===========================================================================
-- Tables
-- ===========================================================================

-- The IANA zone names this server knows, copied once from pg_timezone_names
-- (a scan of the zone files) so that checking a name is a cheap index probe,
-- not a zone load inside an exception block for every row. POSIX-style
-- strings ('UTC+5') and the posix/ and right/ trees are left out.
CREATE TABLE time_zones (name text PRIMARY KEY);
INSERT INTO time_zones
SELECT name FROM pg_timezone_names
 WHERE name !~ '^(posix|right)/' AND name <> 'posixrules' AND name ~ '^[A-Za-z]';

-- Provider behaviour is code (src/provider/); what can be stated as data is
-- here: where the API is, how it words its limits, what a post may carry.
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
    time_scale      double precision NOT NULL DEFAULT 1 CHECK (time_scale > 0),
    -- Where this provider's webhooks hold their fields: members "type",
    -- "post_id", "reference", "account" (lists of JSON paths tried in order)
    -- and "published", "failed" (type names), each replacing the built-in
    -- list it names (src/webhook/paths.c; README "Webhook field paths").
    webhook_fields  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(webhook_fields) = 'object'),
    -- The member names of this provider's create body where its docs are
    -- silent: "media_list", "media" ({"url","mime_type","size_bytes"} ->
    -- names sent), "accounts", "reference" (a string, or null: left out),
    -- each replacing the built-in default it names (src/provider/reqfields.c;
    -- README "Request fields").
    request_fields  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(request_fields) = 'object'),
    -- What to do with a target whose fate is unknown (no answer, a 5xx, a
    -- crash) once its webhook is overdue. None of the five providers'
    -- docs mentions idempotency keys, so a re-send may post twice:
    -- "idempotent": true (the provider is known to honour our key) re-sends
    -- with the same key; else "path" (a list-posts route, appended to the
    -- base URL) is read once to look for the post, and without a path the
    -- target stays unconfirmed for the operator. Members "post_id",
    -- "reference", "account", "type", "published", "failed" replace the
    -- built-in paths read in each listed post (src/scheduler/lookup.c;
    -- README "Unconfirmed targets").
    lookup          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(lookup) = 'object')
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
    -- Overrides members of providers.webhook_fields for deliveries this key's secret signs.
    webhook_fields      jsonb CHECK (jsonb_typeof(webhook_fields) = 'object'),
    -- Overrides members of providers.request_fields for this key's create requests.
    request_fields      jsonb CHECK (jsonb_typeof(request_fields) = 'object'),
    enabled             boolean NOT NULL DEFAULT true,
    -- Paused by an operator (`postpace pause`): the scheduler claims nothing
    -- for the key from its next turn on, but keeps its lease and its windows,
    -- so resuming goes on at the limiter's pace, without a burst.
    paused_at           timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, label)
);

-- What operators did, by CLI or API, without SQL: who ("cli", or the API
-- token's name), what, to which rows, when. Written in the same statement as
-- the action itself.
CREATE TABLE operator_actions (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    action  text NOT NULL CHECK (action IN ('pause', 'resume', 'retry', 'cancel', 'replay',
                                           'subscribe', 'unsubscribe')),
    -- What it named (a key, a provider, a target selector, a delivery or a
    -- subscription) and the ids it touched.
    subject jsonb NOT NULL CHECK (jsonb_typeof(subject) = 'object')
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

-- What to say and when. A post names its key and accounts; the posts_expand
-- trigger turns it into one post_targets row per account.
--
-- The time zone and the key are not a CHECK and a foreign key: a bulk insert
-- paid, per post, a CHECK calling a SQL function and a foreign-key trigger,
-- about 15 µs each, close to half of an import's insert phase. The same rules
-- run once per INSERT statement over its rows, on each distinct value once
-- (postpace_posts_check_insert), and per row on the rare update that changes
-- them. Content must not be blank: btrim(content) <> '' says so without
-- counting the characters (length() walks the UTF-8 of the whole text).
-- external_id is an opaque identifier, compared byte by byte (see COLLATE
-- "C" under post_targets).
CREATE TABLE posts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id       text COLLATE "C" UNIQUE CHECK (length(external_id) BETWEEN 1 AND 200),
    provider_key_id   bigint NOT NULL,  -- a provider_keys row (postpace_posts_check_*)
    account_ids       text[] NOT NULL CHECK (cardinality(account_ids) BETWEEN 1 AND 100
                                             AND array_position(account_ids, NULL) IS NULL),
    content           text NOT NULL CHECK (btrim(content) <> ''),
    media             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(media) = 'array'),
    scheduled_at      timestamptz NOT NULL,
    time_zone         text NOT NULL DEFAULT 'UTC',  -- a time_zones name (postpace_posts_check_*)
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_scheduled_at ON posts (scheduled_at);

-- The life of one post on one account: its own status, attempts and lease, so
-- a multi-account post can partly succeed and be retried per account.
--
-- Identifiers compare as bytes. Idempotency and request keys, provider post
-- ids and account ids (and the external ids and event fields of posts and
-- webhook_events) are opaque strings only ever looked up for equality; with
-- the database's default collation every btree comparison went through
-- strcoll, 8-10% of PostgreSQL's CPU at webhook intake. COLLATE "C" compares
-- with memcmp. Where such a column meets a value of the default collation (a
-- query parameter), the column's collation wins, so queries use the indexes.
--
-- A webhook settles its target with a heap-only (HOT) update: no index
-- changes. Partial indexes predicated on status would make status an indexed
-- column, and every status change (each webhook moving submitted ->
-- published) would write an entry into every index of the table: about a
-- fifth of PostgreSQL's CPU at webhook intake. So the scheduler's indexes key
-- on columns each set only in the status it serves and NULL otherwise:
--
--   due_at           next_attempt_at while scheduled: what the scheduler claims
--   lease_lapses_at  lease_expires_at while publishing: claims to recover
--   recheck_at       next_attempt_at while unconfirmed: fates to re-check
--
-- A move between two statuses none of them serves (submitted, published,
-- failed, ...) leaves all three NULL, changes no indexed column, and when the
-- page has room is heap-only. The queries name them (sql/sched_*.sql).
--
-- They are plain columns, kept by their writers: each statement of postpace
-- that moves a target sets them with the status. Stored generated columns
-- did the same for every writer, but made PostgreSQL form each inserted or
-- updated row twice: a tenth of a target's birth (3.5k of 36k instructions,
-- tests/bench/expand_instructions.sh). Writers that do not set them (plain
-- SQL: README's UPDATE ... SET status) are corrected at the end of their
-- statement by postpace_targets_rewake, at the cost of a second update of
-- the rows they got wrong; a target is never left with them stale.
--
-- The fill factor gives each page that room. Under a burst of webhooks the
-- settles of a page's neighbours (targets claimed and sent together were
-- written together) come within a few batches of each other, faster than
-- pruning can reclaim the versions they leave: a dead version stays until
-- every snapshot older than its update is gone, and the other intake writer
-- always holds one. So a page must hold the burst's new versions in the room
-- it was given. At 60 a page has room for about eighteen new versions (rows
-- are ~180 bytes): in the webhook benchmark (40,000 targets written
-- together, then settled at full speed by two writers) 97% of settles stay
-- heap-only, against 79% at 70 and 54% at 85, and intake costs about 4% less
-- database CPU per event than at 70, for 17% more heap pages.
--
-- A target's id is its post's id × 128 + its slot: the position of its
-- account in the post's account_ids (from 0; accounts are at most 100, so
-- 28 slots stay free for accounts a PATCH adds, postpace_retarget).
-- So the primary key is also the index of a post's targets (ids post × 128
-- to post × 128 + 127), and (post_id, account_id) needs no unique index of
-- its own: posts_expand numbers a repeated account by its first position
-- (array_position), so a post naming an account twice makes two targets with
-- one id, refused by the primary key (23505). A second unique index had cost
-- a fifth of a target's birth, and an identity its sequence.
--
-- The idempotency key is derived, not stored: 'pp-<target id>-<md5 of the
-- account>' is unique because the id is (and a slot a PATCH frees and gives
-- to another account makes another key), and a webhook that names it is
-- matched through the primary key, by the id the key spells
-- (postpace_key_target: an equality, so the match's OR of three index
-- probes stays one; a range of a post's ids made it a scan of the table).
-- It is the function idempotency_key(post_targets)
-- below, which PostgreSQL also answers as a column (t.idempotency_key).
-- Stored, it cost a fifth of a target's birth (its md5 and ~50 bytes a
-- row), and its unique index had cost another fifth; it is read only when
-- a request is built or a webhook matched, a few rows at a time.
--
-- post_id is not a foreign key, for the reason given under posts: targets
-- are made only by posts_expand, from the posts of the same statement, and
-- by postpace_retarget, from the post it is given (anyone else's INSERT is
-- refused: postpace_targets_insert_guard); an update of post_id or id is
-- checked per row (the post exists, and the id is in its range).
-- provider_key_id is copied from the post by posts_expand (the post's check
-- covers it); it is not checked again per target.
CREATE TABLE post_targets (
    id               bigint PRIMARY KEY,  -- post_id × 128 + slot (see above)
    post_id          bigint NOT NULL,     -- a posts row (postpace_targets_check_*)
    provider_key_id  bigint NOT NULL,
    account_id       text COLLATE "C" NOT NULL CHECK (account_id <> ''),
    status           target_status NOT NULL DEFAULT 'scheduled',
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    provider_post_id text COLLATE "C",
    last_error       jsonb CHECK (last_error IS NULL OR jsonb_typeof(last_error) = 'object'),
    lease_owner      text,
    lease_expires_at timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- The idempotency key of the request that carried the target (a batched
    -- request carries several targets under one key); providers echo it back.
    request_ref      text COLLATE "C",
    -- What the scheduler's indexes key on (see above; postpace_targets_rewake).
    due_at           timestamptz,
    lease_lapses_at  timestamptz,
    recheck_at       timestamptz,
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
) WITH (fillfactor = 60);
-- Webhooks find their targets by request key or provider post id.
CREATE INDEX post_targets_request_ref ON post_targets (request_ref) WHERE request_ref IS NOT NULL;
CREATE INDEX post_targets_provider_post_id ON post_targets (provider_post_id)
    WHERE provider_post_id IS NOT NULL;
-- Due targets have one index, per key: the scheduler asks "when is this key
-- next due" and claims key by key, and even the expiry of targets overdue
-- beyond the catch-up window asks per key (sql/sched_expire.sql). A second,
-- all-keys index cost every scheduled target an entry at a random place (due
-- times do not follow insert order): a tenth of the time of a 200,000-row
-- import, and a share of every post the API creates.
CREATE INDEX post_targets_key_due ON post_targets (provider_key_id, due_at, id)
    WHERE due_at IS NOT NULL;
-- Housekeeping at calendar scale: claims past their lease and unconfirmed
-- targets due for a re-check are found through small partial indexes (only
-- rows in flight are in them), not a scan of every target once a second.
CREATE INDEX post_targets_publishing ON post_targets (lease_lapses_at)
    WHERE lease_lapses_at IS NOT NULL;
CREATE INDEX post_targets_unconfirmed ON post_targets (recheck_at) WHERE recheck_at IS NOT NULL;

-- The key a create request carries for this target (see above). Named like
-- a column, so that t.idempotency_key reads it; inlined by the planner.
CREATE FUNCTION idempotency_key(t post_targets) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'pp-' || t.id::text || '-' || md5(t.account_id)
$$;

-- Whether t is one of post's targets: the post's range of the primary key
-- (the index condition), and its post_id (a filter on those few rows). The
-- second term is redundant but for the planner: it cannot know how many ids
-- a range with bounds from another table holds (it guesses 0.5% of the
-- table: 5,000 rows a post at a million targets, enough to switch on JIT),
-- and the equality brings its guess down to the rows a post has. Inlined.
CREATE FUNCTION postpace_target_of(t post_targets, post bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT t.post_id = post AND t.id BETWEEN post * 128 AND post * 128 + 127
$$;

-- One row per request sent: the limiter's durable memory. accounts and posts
-- record what the request drew on, so a new owner of the key's lease
-- rebuilds every window exactly.
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
    instance         text,
    accounts         integer NOT NULL DEFAULT 1 CHECK (accounts >= 0),
    posts            integer NOT NULL DEFAULT 1 CHECK (posts >= 0)
);
CREATE INDEX attempts_key_sent ON attempts (provider_key_id, sent_at);

-- One lease per rate-limit group: the keys that share a user or account
-- bucket go together (named by the smallest key id), so one instance alone
-- spends a shared budget. Renewed by heartbeat; taken over when it lapses.
CREATE TABLE key_leases (
    group_id   bigint PRIMARY KEY REFERENCES provider_keys ON DELETE CASCADE,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT now()
);

-- Webhook events, stored once per (provider, event id): a replay or a
-- duplicate is a no-op. What the event says (its type, its reference, the
-- provider's post id, the account) is extracted at intake, with the paths
-- configured for the provider or the key that signed it (webhook_fields), so
-- matching uses indexes. Every verified delivery is stored, read or not: an
-- event whose type names no verdict (event_type NULL; raw_type is what it
-- said) or that names no post is "unreadable", never settles a target, and
-- stays pending until a configuration change reads it anew
-- (postpace_rematch_events). An
-- event is applied to the targets it matches (applied_at set, target_id the
-- first of them); one whose target is not known yet stays pending and is
-- applied as soon as a matching target is updated (postpace_apply_pending),
-- or by the daemon's sweep (postpace_sweep_pending).
--
-- provider and target_id are not foreign keys: a per-row check is a query of
-- its own, two per event at intake. The same rules are kept once per
-- statement (postpace_webhook_events_refs, postpace_providers_keep_events,
-- postpace_targets_release_events), without row locks: a statement deleting
-- providers or targets, which is rare, waits for the event writers instead.
CREATE TABLE webhook_events (
    provider         text COLLATE "C" NOT NULL,  -- a providers row
    event_id         text COLLATE "C" NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    event_type       text,  -- the verdict; NULL: the type names none (or there was none)
    raw_type         text,  -- the type as the sender wrote it
    payload          jsonb NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    target_id        bigint,  -- a post_targets row, or NULL (set NULL when it is deleted)
    applied_at       timestamptz,
    reference        text COLLATE "C",
    provider_post_id text COLLATE "C",
    account_id       text COLLATE "C",
    key_id           bigint,  -- the provider_keys row whose secret verified it (its paths)
    PRIMARY KEY (provider, event_id),
    CONSTRAINT webhook_events_type CHECK (event_type IN ('post.published', 'post.failed'))
);
-- Pending events, by key, by what a target write may match them by, and by
-- arrival in the sweep's cursor order (so a pass reads its budget straight
-- off the index). All are empty while every event finds its target.
CREATE INDEX webhook_events_pending ON webhook_events (provider, event_id) WHERE applied_at IS NULL;
CREATE INDEX webhook_events_pending_ref ON webhook_events (reference) WHERE applied_at IS NULL;
CREATE INDEX webhook_events_pending_post ON webhook_events (provider_post_id) WHERE applied_at IS NULL;
CREATE INDEX webhook_events_pending_received
    ON webhook_events (received_at, provider, event_id) WHERE applied_at IS NULL;
-- A post's events, for GET /v1/posts/{id} and the web page. Applied events
-- fill it (one btree insert per event, at the right edge: target ids grow).
CREATE INDEX webhook_events_target ON webhook_events (target_id) WHERE target_id IS NOT NULL;


-- Outgoing webhooks to the application (README "Outgoing webhooks"). A
-- subscription names a URL, where its Standard Webhooks signing secret lives
-- ('env:NAME' or 'file:/path' holding "whsec_<base64>"; never the secret),
-- the event types it wants (empty: every type), and optionally one provider
-- or one key whose events alone it wants.
CREATE TABLE subscriptions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url         text NOT NULL CHECK (url ~ '^https?://[^[:space:]]+$'),
    secret_ref  text NOT NULL CHECK (secret_ref ~ '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$'),
    event_types text[] NOT NULL DEFAULT '{}'
                CHECK (event_types <@ ARRAY['post.published', 'post.failed', 'post.unconfirmed',
                                            'post.expired', 'key.paused',
                                            'key.quota_exhausted']::text[]),
    provider    text REFERENCES providers,
    key_id      bigint REFERENCES provider_keys ON DELETE CASCADE,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per event per subscription that wants it, written by
-- the very statement that made the event (a target's status change, a key's
-- pause), so an event is delivered if and only if its change committed. The
-- dispatcher (src/outbox/) posts it, signed, until the subscriber answers
-- 2xx (delivered) or its retry period is over (dead: listed, and replayed by
-- `postpace deliveries replay`, which restarts the period at retry_from).
-- Its id is the delivery's webhook-id: stable across retries.
--
-- subscription_id is not a foreign key: each check would take a key-share
-- lock on the subscription's row, shared by every writer of every event (a
-- multixact per batch at intake). A deleted subscription takes its rows
-- with it (postpace_subscriptions_drop).
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL,
    event_type      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    key_id          bigint,
    post_id         bigint,
    target_id       bigint,
    data            jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    retry_from      timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    due_at          timestamptz
        GENERATED ALWAYS AS (CASE WHEN state = 'pending' THEN next_attempt_at END) STORED
);
-- What the dispatcher claims; dead letters to list; a post's deliveries.
CREATE INDEX outbox_due ON outbox (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
CREATE INDEX outbox_post ON outbox (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX outbox_key_events ON outbox (key_id, event_type) WHERE target_id IS NULL;


-- ===========================================================================
-- Seed: the providers and their documented limits
-- ===========================================================================

-- The five providers and every limit their documentation states
-- (../shared/providers/*.txt). Base URLs and limits are data: override a
-- provider's base_url/time_scale here, or per key in provider_keys and in
-- rate_limits rows with key_id set. README "Rate limits" maps each row to
-- the sentence of the docs it comes from.

-- The list-posts routes are the documented ones (PostEverywhere's "GET
-- /posts?status=...", SchedPilot's "GET /developers/v1/posts (list posts)",
-- Postlark's GET /v1/posts); FeedHorizon and Jestha document none.
INSERT INTO providers (id, name, base_url, reset_kind, batch_accounts, max_content_len,
                       max_media, max_media_bytes, media_types, lookup) VALUES
    ('posteverywhere', 'PostEverywhere', 'https://app.posteverywhere.ai/api/v1', 'unix', true,
     NULL, NULL, NULL, NULL, '{"path": "/posts"}'),
    ('schedpilot', 'SchedPilot', 'https://api.schedpilot.com/developers/v1', 'none', true,
     NULL, NULL, NULL, NULL, '{"path": "/posts"}'),
    ('feedhorizon', 'FeedHorizon', 'https://api.feedhorizon.com/v1', 'seconds', true,
     NULL, NULL, NULL, NULL, '{}'),
    ('postlark', 'Postlark', 'https://api.postlark.ai/v1', 'unix', false,
     NULL, NULL, NULL, NULL, '{"path": "/posts"}'),
    ('jestha', 'Jestha', 'https://api.jestha.com', 'unix', false,
     NULL, 4, 8000000,
     ARRAY['image/jpeg', 'image/png', 'image/gif', 'image/webp',
           'video/mp4', 'video/mpeg', 'video/quicktime', 'video/webm'], '{}');

INSERT INTO rate_limits (provider, plan, scope, route, kind, window_ms, max_units, cost, doc) VALUES
    -- PostEverywhere: rolling windows, per API key; POST /posts has its own on top.
    ('posteverywhere', NULL, 'key', '*', 'rolling', 60000, 60, 'request', 'Per minute: 60 requests, all endpoints'),
    ('posteverywhere', NULL, 'key', '*', 'rolling', 3600000, 1000, 'request', 'Per hour: 1,000 requests, all endpoints'),
    ('posteverywhere', NULL, 'key', '*', 'rolling', 86400000, 10000, 'request', 'Per day: 10,000 requests, all endpoints'),
    ('posteverywhere', NULL, 'key', 'POST /posts', 'rolling', 60000, 20, 'request', 'POST /posts: 20 per minute'),
    ('posteverywhere', NULL, 'key', 'POST /posts', 'rolling', 3600000, 100, 'request', 'POST /posts: 100 per hour'),
    ('posteverywhere', NULL, 'key', 'POST /posts', 'rolling', 86400000, 500, 'request', 'POST /posts: 500 per day'),
    ('posteverywhere', NULL, 'key', 'POST /ai/generate-image', 'rolling', 300000, 50, 'request', 'POST /ai/generate-image: 50 per 5 minutes'),
    ('posteverywhere', NULL, 'key', 'POST /ai/generate-image', 'rolling', 3600000, 200, 'request', 'POST /ai/generate-image: 200 per hour'),
    -- SchedPilot: per user, reads and writes apart, windows reset on the clock hour.
    ('schedpilot', NULL, 'user', 'read', 'fixed', 3600000, 60, 'request', 'Read (GET): 60 requests per hour, per user'),
    ('schedpilot', NULL, 'user', 'write', 'fixed', 3600000, 30, 'request', 'Write (POST, DELETE): 30 requests per hour, per user'),
    -- FeedHorizon: one sliding window per key.
    ('feedhorizon', NULL, 'key', '*', 'rolling', 60000, 100, 'request', 'Default tier: 100 requests per 60 seconds, sliding, per key'),
    -- Postlark: the plan's hourly requests (doc silent on alignment: clock hour,
    -- since X-RateLimit-Reset names one reset time) and monthly post quotas.
    ('postlark', 'free', 'key', '*', 'fixed', 3600000, 60, 'request', 'Free: 60 requests/hour'),
    ('postlark', 'starter', 'key', '*', 'fixed', 3600000, 300, 'request', 'Starter: 300 requests/hour'),
    ('postlark', 'creator', 'key', '*', 'fixed', 3600000, 1000, 'request', 'Creator: 1,000 requests/hour'),
    ('postlark', 'scale', 'key', '*', 'fixed', 3600000, 10000, 'request', 'Scale: 10,000 requests/hour'),
    ('postlark', 'enterprise', 'key', '*', 'fixed', 3600000, 10000, 'request', 'Enterprise: 10,000+ requests/hour (contract may raise it: override per key)'),
    ('postlark', 'free', 'account', 'POST /posts', 'lifetime', NULL, 10, 'post', 'Free: 10 posts total'),
    ('postlark', 'starter', 'account', 'POST /posts', 'calendar_month', NULL, 15, 'post', 'Starter: 15 posts/month'),
    ('postlark', 'creator', 'account', 'POST /posts', 'calendar_month', NULL, 50, 'post', 'Creator: 50 posts/month'),
    -- Jestha: rolling per key, a per-route bucket, and a per-account daily quota at UTC midnight.
    ('jestha', NULL, 'key', '*', 'rolling', 60000, 60, 'request', '1 minute: 60 requests per API key'),
    ('jestha', NULL, 'key', '*', 'rolling', 86400000, 10000, 'request', '24 hours: 10,000 requests per API key'),
    ('jestha', NULL, 'key', 'POST /api/posts', 'rolling', 60000, 10, 'request', 'POST /api/posts: 10 posts / min per key'),
    ('jestha', NULL, 'account', 'POST /api/posts', 'fixed', 86400000, 1000, 'post', 'Jes + JesClips via API: 1,000 per account, daily, UTC');


-- ===========================================================================
-- Functions
-- ===========================================================================

-- ---------------------------------------------------------------------------
-- Rules shared by the importer, the API and the triggers
-- ---------------------------------------------------------------------------

-- Whether tz names a zone. Not inlined (its body holds a subquery): the
-- statements run per batch (api_post_check, posts_check_insert) write the
-- test out instead of calling it.
CREATE FUNCTION postpace_is_time_zone(tz text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM time_zones WHERE name = tz)
$$;

-- A time as the API and `status --json` write it: RFC 3339 in UTC, with as
-- many fractional digits as it has ('2026-12-01T08:00:00Z',
-- '...T08:00:00.25Z'); NULL for NULL. Inlined by the planner.
CREATE FUNCTION postpace_utc_text(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT regexp_replace(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '\.?0+$', '')
           || 'Z'
$$;

-- Local times: a local wall-clock time in an IANA zone is refused when it
-- falls in a daylight-saving gap (it does not exist) or overlap (it exists
-- twice), never silently shifted. Returns the reason, or NULL when the time
-- is fine. How: the zone's UTC offsets 3 hours before and after the time;
-- when they differ a transition is near, and the time is checked against both.
CREATE FUNCTION postpace_dst_problem(local timestamp, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
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

-- One rule for naming a key, shared by the importer and the API: a key id,
-- else a label naming exactly one key. `matches` counts the keys the text
-- could mean (0: unknown; more than 1: an ambiguous label). Always one
-- row; declared a set so that the planner inlines it where it is called
-- in FROM (a function it cannot inline is parsed and planned again in
-- every statement that calls it, and run as a query of its own per row:
-- 8% of a batch of API creates' database CPU).
CREATE FUNCTION postpace_key_lookup(ref text) RETURNS TABLE (key_id bigint, matches bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(min(k.id) FILTER (WHERE k.id::text = ref),
                    CASE WHEN count(*) = 1 THEN min(k.id) END),
           count(*)
      FROM provider_keys k
     WHERE k.id::text = ref OR k.label = ref
$$;

-- ---------------------------------------------------------------------------
-- The calendar: expanding posts, moving targets, waking the scheduler
-- ---------------------------------------------------------------------------

-- Each post expands into one target per account, so direct SQL writers only
-- INSERT INTO posts. Once per statement: a million-row import is one INSERT.
-- It raises postpace.expanding around its INSERT, which
-- postpace_targets_insert_guard lets through (the targets are right by
-- construction: they name the posts of this very statement), and wakes the
-- scheduler for the earliest of them. No pending webhook event can name a
-- target not made yet: its key spells an id and an account only it has, and
-- its request key and provider post id are not set. unnest() in
-- the select list (a ProjectSet) rather than in FROM: a function scan per
-- post fills and reads a tuplestore for each one (5-7% of the expansion;
-- generate_subscripts() beside it for the slot cost as much again, so the
-- slot is the account's first position, which also makes a repeated
-- account a repeated id).
CREATE FUNCTION postpace_posts_expand() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- After the accounts of post p_post changed (the API's PATCH; nothing of it
-- sent): drops the targets of accounts no longer named, then makes one for
-- each new account, as posts_expand would have, in the post's free slots,
-- lowest first, in the accounts' order (the API refuses an account named
-- twice; at most 100 of the 128 slots are taken, and the deletes come first
-- so that the slots they free are free). A slot handed to another account
-- makes another idempotency key (its md5 differs).
CREATE FUNCTION postpace_retarget(p_post bigint) RETURNS void LANGUAGE plpgsql AS $$
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

-- Rescheduling a post moves its targets that have not been tried yet.
CREATE FUNCTION postpace_posts_reschedule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE post_targets t SET next_attempt_at = NEW.scheduled_at, due_at = NEW.scheduled_at, updated_at = now()
     WHERE postpace_target_of(t, NEW.id) AND t.status = 'scheduled' AND t.attempts = 0;
    RETURN NULL;
END $$;

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


-- Wakes the scheduler (channel postpace_due, payload: the earliest newly due
-- time in epoch milliseconds) once per statement, when rows become
-- claimable or due sooner than before. A hint only: the scheduler also polls.
CREATE FUNCTION postpace_wake(due timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF due IS NOT NULL THEN
        PERFORM pg_notify('postpace_due', (floor(extract(epoch FROM due) * 1000))::bigint::text);
    END IF;
END $$;

-- The updates' wake-up (new targets wake it themselves: posts_expand,
-- postpace_retarget).
CREATE FUNCTION postpace_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM postpace_wake(min(n.next_attempt_at))
       FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.status = 'scheduled'
        AND (o.status <> 'scheduled' OR n.next_attempt_at < o.next_attempt_at);
    RETURN NULL;
END $$;

-- A key's plan must be one the provider's limits know, when it has plans.
CREATE FUNCTION postpace_keys_check_plan() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- ---------------------------------------------------------------------------
-- References, checked once per statement
--
-- posts.provider_key_id, posts.time_zone and post_targets.post_id are not a
-- foreign key and a CHECK: per row, they cost about 15 µs each, close to half
-- of a bulk import's insert phase. The same rules run once per INSERT
-- statement over its transition table, on each distinct value once; updates
-- (a row or a few at a time) keep row-level checks, fired only when the
-- column really changed. Direct SQL writers get the same refusals, with the
-- same SQLSTATEs and constraint names (tests/integration/test_direct_sql.c).
--
-- Locking matches what the foreign keys did: a referenced key or post is
-- locked FOR KEY SHARE, so a concurrent delete waits for this transaction
-- and then sees its rows. Posts this transaction wrote itself need no lock
-- (nobody else can see them), and the targets posts_expand derives from the
-- posts of the same statement are not checked at all.
-- ---------------------------------------------------------------------------

-- Each refusal below, raised as the constraint it replaces would have raised it.
CREATE FUNCTION postpace_refuse_zone(tz text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'new row for relation "posts" violates check constraint "posts_time_zone_check"'
        USING ERRCODE = 'check_violation', TABLE = 'posts', COLUMN = 'time_zone',
              CONSTRAINT = 'posts_time_zone_check', DETAIL = format('unknown time zone "%s"', tz);
END $$;

-- A target whose id is not in its post's range (post_id × 128 + slot).
CREATE FUNCTION postpace_refuse_target_id(id bigint, post bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'new row for relation "post_targets" violates check constraint "post_targets_id_check"'
        USING ERRCODE = 'check_violation', TABLE = 'post_targets', COLUMN = 'id',
              CONSTRAINT = 'post_targets_id_check',
              DETAIL = format('Target id %s is not post %s''s: ids are post_id × 128 + slot (0-127).', id, post);
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
    IF NEW.id <> OLD.id
       AND EXISTS (SELECT 1 FROM post_targets t WHERE postpace_target_of(t, OLD.id)) THEN
        PERFORM postpace_refuse_missing('update or delete', 'posts', 'post_targets_post_id_fkey',
            format('Key (id)=(%s) is still referenced from table "post_targets".', OLD.id));
    END IF;
    RETURN NULL;
END $$;

-- posts, deleted: their targets go too (as ON DELETE CASCADE would).
CREATE FUNCTION postpace_posts_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM post_targets t USING old_posts o WHERE postpace_target_of(t, o.id);
    RETURN NULL;
END $$;

-- post_targets: only postpace makes targets, from posts (posts_expand) and
-- for the accounts a PATCH adds (postpace_retarget); both raise
-- postpace.expanding around their INSERT (a transaction-local setting, so it
-- never outlives it). Anyone else's INSERT is refused before it writes: a
-- target's id is its post's range (post_targets), its due time its post's,
-- and plain SQL adds posts. So the targets' INSERT needs no transition
-- table: capturing one cost a target 1.5k instructions, and a million-row
-- INSERT spilled two million targets to temporary files (24.3 s against
-- 18.6 s without). The wake-up, the checks and the pending events those
-- triggers served are done by the two makers themselves.
CREATE FUNCTION postpace_targets_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('postpace.expanding', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'post_targets rows are made by postpace, not inserted'
            USING ERRCODE = 'feature_not_supported', TABLE = 'post_targets',
                  HINT = 'INSERT INTO posts: a post expands into one target per account; '
                         'PATCH /v1/posts/{id} changes its accounts.';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION postpace_targets_check_update() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- post_targets: due_at, lease_lapses_at and recheck_at as the status wants
-- them (see the table), for the writers that did not set them: one more
-- update of just the rows they got wrong. That update sets them right, so
-- its own run of this trigger finds nothing and stops. (Inserts are
-- postpace's own, right by construction: postpace_targets_insert_guard.)
CREATE FUNCTION postpace_targets_rewake() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- provider_keys: a key some post names stays (as a foreign key's NO ACTION).
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

CREATE FUNCTION postpace_keys_check_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM posts p WHERE p.provider_key_id = OLD.id) THEN
        PERFORM postpace_refuse_missing('update or delete', 'provider_keys', 'posts_provider_key_id_fkey',
            format('Key (id)=(%s) is still referenced from table "posts".', OLD.id));
    END IF;
    RETURN NULL;
END $$;

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

-- ---------------------------------------------------------------------------
-- Webhook events: matching, settling, storing
--
-- One match rule (postpace_match_targets) and one settle rule
-- (postpace_webhook_may_settle: which targets may move; postpace_settle_targets:
-- the verdict and the update). The stored-event paths (a pending event
-- applied when its target is written, the sweep) call them.
-- postpace_store_events, intake's fast path, inlines both: see its comment,
-- the one place that says what it inlines and why.
-- ---------------------------------------------------------------------------

-- The target an idempotency key names ('pp-<target id>-<32 hex>'), or NULL
-- for any other reference. Inlined by the planner, so a match on it is a
-- probe of post_targets' primary key.
CREATE FUNCTION postpace_key_target(ref text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ref ~ '^pp-[0-9]{1,18}-[0-9a-f]{32}$' THEN split_part(ref, '-', 2)::bigint END
$$;

-- The targets an event names: by the provider's per-account post id, by our
-- target key, or by our request key narrowed to the account the event names
-- (ignored when the request carried one target: some providers name their
-- own account there, not ours). Only targets of the event's provider.
CREATE FUNCTION postpace_match_targets(p_provider text, p_reference text, p_post_id text,
                                       p_account_id text) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
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

-- The same rule, given a stored event. An event without a verdict matches nothing.
CREATE FUNCTION postpace_event_targets(e webhook_events) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    SELECT * FROM postpace_match_targets(e.provider, e.reference, e.provider_post_id, e.account_id)
     WHERE e.event_type IS NOT NULL
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
-- ordering: a target's verdict is published when any of its events says so,
-- else failed with the error of its first failure by event id; which
-- targets may move is postpace_webhook_may_settle. plpgsql, not sql: its
-- plan is cached per session instead of parsed and planned at every call.
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

-- Applies stored events (parallel arrays of provider and event id) that are
-- still pending to the targets they now match: the path of an event stored
-- before its target. An event is marked applied once it matched a target;
-- one that matched nothing stays pending.
CREATE FUNCTION postpace_apply_events(p_providers text[], p_event_ids text[]) RETURNS integer
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

-- Applies pending events that the updated targets now match (the trigger of
-- post_targets_apply_pending_update; a new target cannot match one, see
-- postpace_posts_expand). Skipped when nothing is pending, and for the
-- writes postpace_apply_events itself makes.
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
                ON w.applied_at IS NULL AND w.event_type IS NOT NULL
               AND (w.reference IN (n.idempotency_key, n.request_ref)
                    OR w.provider_post_id = n.provider_post_id)) d;
    IF ids IS NOT NULL THEN
        PERFORM postpace_apply_events(providers, ids);
    END IF;
    RETURN NULL;
END $$;

-- A pending event can miss a target that matches it. The event is stored
-- while the write that makes its target matchable (the recorder filling in
-- the provider's post id, say) is not yet committed, so the event's match
-- does not see it; and that write's apply-pending trigger ran before the
-- event existed, so it does not see the event either. The event then waits
-- for the target's next write, which may never come. The daemon closes the
-- gap by sweeping recently received pending events now and then; the window
-- is short, because the race is as short as the transactions involved.
--
-- Events that match no target at all may pile up (a sender can send them at
-- will: 105k signed events for unknown posts made a whole-window pass take
-- ~1 s of a backend). So each pass examines at most p_budget events, walking
-- the window in arrival order from a cursor the caller keeps: the cost of a
-- pass is bounded by the budget, whatever is pending, and a long backlog is
-- covered in turns (each event is still looked at again while it is in the
-- window, every pending/budget passes).
--
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

-- Intake's fast path: stores a batch of verified events (parallel arrays, in
-- arrival order) and applies the new ones; returns the events that are new.
-- A replay or a duplicate (also within the batch: the first copy is stored)
-- is a no-op. Each event is matched before it is stored, and stored already
-- applied: one heap tuple per event, one match, no pending-index entries.
--
-- It inlines the match rule and the settle rule, which is what makes it
-- fast, and the reason it is the only function that says so (COMMENT ON
-- below, visible in sql/schema.sql and \df+):
--   * its lock statement writes out postpace_match_targets, so the rows the
--     match reads are the rows it locks (calling the function and joining
--     post_targets again cost a second index descent and heap fetch per
--     match). A target changed while the lock waited is re-checked against
--     the whole rule: one that no longer matches drops out, and its event is
--     stored pending, as if it had come first;
--   * it writes postpace_settle_targets' verdict inline, twice. The common
--     batch is a set of strangers: no event matched two targets and no
--     target was matched twice (one_each); then each stored event settles its
--     own target directly, its type being the verdict (a batch of 24: 5.87M
--     -> 5.20M instructions, tests/bench/store_instructions.sh). Any other
--     batch (an event for a whole multi-account request, a failure and a
--     success for one target) goes the general way, which groups per target
--     as postpace_settle_targets does, in one statement instead of collecting
--     the new events into arrays and unnesting them again (~15% of the
--     writer's CPU).
-- tests/integration/test_schema.c holds the copies to the rules: the same
-- targets as postpace_match_targets for each shape of event, and the same
-- outcome for a batch as for its events one call each.
--
-- The triggers it would fire and that can find nothing are skipped: it sets
-- the transaction-local postpace.webhook_store = 'on' around its own write,
-- and webhook_events_refs_insert and post_targets_notify_update skip such
-- statements (a trigger call costs a plpgsql frame and a query or two however
-- small the batch, about a tenth of PostgreSQL's CPU at intake). It holds a
-- lock on every target it names, and it sets the flag only when every named
-- provider exists, looked up after webhook_events is locked against provider
-- deletes (postpace_providers_keep_events), so an unknown provider leaves it
-- off and the trigger raises as it would for any writer. Intake moves targets
-- only to published or failed, never due, so no scheduler needs waking.
-- Targets are locked before the table: a target delete holds its rows and
-- then waits for webhook_events, so taking the table first could deadlock.
CREATE FUNCTION postpace_store_events(p_providers text[], p_event_ids text[],
                                                 p_types text[], p_payloads text[],
                                                 p_references text[], p_post_ids text[],
                                                 p_account_ids text[],
                                                 p_raw_types text[] DEFAULT NULL,
                                                 p_key_ids bigint[] DEFAULT NULL)
RETURNS TABLE (provider text, event_id text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
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

COMMENT ON FUNCTION postpace_store_events(text[], text[], text[], text[], text[], text[], text[],
                                          text[], bigint[]) IS
    'Intake''s fast path. It inlines the match rule of postpace_match_targets (in its lock '
    'statement) and the settle rule of postpace_settle_targets (one event per target, and the '
    'general way): change them together; tests/integration/test_schema.c holds them in line.';

-- Re-reads stored pending events of one provider after its webhook_fields
-- changed: the intake extracts their fields anew from the kept payload with
-- the new paths (src/http/intake.c rematch_page, a page at a time) and passes
-- them here as parallel arrays; the events whose fields changed take them,
-- and those that now match a target are applied. Events applied meanwhile
-- are left alone. Returns how many of the given events are now applied.
CREATE FUNCTION postpace_rematch_events(p_provider text, p_event_ids text[], p_types text[],
                                        p_raw_types text[], p_references text[],
                                        p_post_ids text[], p_account_ids text[])
RETURNS integer LANGUAGE plpgsql AS $$
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

-- ---------------------------------------------------------------------------
-- Operator control (postpace retry|cancel, POST /v1/targets/retry|cancel)
-- ---------------------------------------------------------------------------

-- The targets an operator's selector names, among those in p_statuses: one
-- target, a post's targets, or a filter (key id or label, provider, the code
-- in last_error, updated_at in [since, until)); a NULL selector is no
-- condition, and every condition given must hold. The callers refuse an
-- empty selector. One definition for retry and cancel, inlined into each
-- (a plain SQL function), so each call plans with its own values.
CREATE FUNCTION postpace_operator_targets(p_statuses target_status[], p_target bigint,
                                          p_post bigint, p_key text, p_provider text,
                                          p_error text, p_since timestamptz,
                                          p_until timestamptz)
RETURNS SETOF post_targets LANGUAGE sql STABLE AS $$
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

-- The references of webhook_events, checked once per statement and without
-- row locks. Locking every named provider and target FOR KEY SHARE, as a
-- foreign key does, turned the provider row's lock into a MultiXact when two
-- intake writers named the same provider, and sorting and locking cost about
-- a tenth of PostgreSQL's CPU at intake. The guarantee comes from the other
-- side, where deletes are rare: a statement deleting providers or targets
-- first takes a SHARE ROW EXCLUSIVE lock on webhook_events. That waits for
-- every transaction that has written events (they hold ROW EXCLUSIVE until
-- they end) and holds new writers off until it ends, so its own look at
-- webhook_events, in a snapshot taken after the lock, sees every event that
-- could name what it deletes; and a writer that runs after it sees the row
-- gone. The mode conflicts with itself, so two deleting transactions queue
-- instead of deadlocking.
CREATE FUNCTION postpace_webhook_events_refs() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- A provider named by an event cannot go.
CREATE FUNCTION postpace_providers_keep_events() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- A deleted target leaves its events naming no target (as ON DELETE SET
-- NULL would), in one pass over webhook_events per statement (a foreign key
-- scans it once per deleted target: target_id has no index).
CREATE FUNCTION postpace_targets_release_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows) THEN
        LOCK TABLE webhook_events IN SHARE ROW EXCLUSIVE MODE;
        UPDATE webhook_events w SET target_id = NULL
         WHERE w.target_id IN (SELECT o.id FROM old_rows o);
    END IF;
    RETURN NULL;
END $$;


-- ---------------------------------------------------------------------------
-- Status changes, announced: NOTIFY and the outbox
-- ---------------------------------------------------------------------------

-- Every target status change, announced once per statement on channel
-- postpace_status: a JSON array of {target_id, post_id, external_id,
-- account, provider_post_id, old, new} (row_to_json: compact, and cheaper
-- than json_build_object), delivered at commit (README
-- "Status notifications"). PostgreSQL refuses a payload of 8,000 bytes or
-- more, so a statement that moves many targets sends several arrays, each
-- under 7,000 bytes (one item over 1,000 bytes goes without its free-text
-- ids, "truncated": true). `SET postpace.status_notify = off` (per session,
-- role or database) silences it: a NOTIFY serialises the commits of the
-- transactions that send one.
--
-- Then the outbox: one row per post.published / failed / unconfirmed /
-- expired event per enabled subscription that wants it; skipped at the cost
-- of one probe when there is none.
CREATE FUNCTION postpace_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- An event about a key (key.paused, key.quota_exhausted) into the outbox,
-- for each enabled subscription that wants it, unless one with the same
-- p_dedupe (NULL: none) is there already. Returns how many rows.
CREATE FUNCTION postpace_key_event(p_key bigint, p_type text, p_data jsonb,
                                   p_dedupe text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql AS $$
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

CREATE FUNCTION postpace_keys_paused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM postpace_key_event(NEW.id, 'key.paused', jsonb_build_object('paused_at', NEW.paused_at));
    RETURN NULL;
END $$;

CREATE FUNCTION postpace_subscriptions_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox WHERE subscription_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;


-- ===========================================================================
-- Triggers
--
-- Statement triggers with transition tables wherever a bulk write must pay
-- per statement, not per row; row triggers only on updates, which come a
-- row or a few at a time, each with a WHEN so it fires only when its column
-- really changed. Triggers on one table and event fire in name order.
-- ===========================================================================

-- posts. posts_check_insert is named to fire before posts_expand.
CREATE TRIGGER posts_check_insert AFTER INSERT ON posts
    REFERENCING NEW TABLE AS new_posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_posts_check_insert();
CREATE TRIGGER posts_expand AFTER INSERT ON posts
    REFERENCING NEW TABLE AS new_posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_posts_expand();
CREATE TRIGGER posts_reschedule AFTER UPDATE OF scheduled_at ON posts
    FOR EACH ROW WHEN (OLD.scheduled_at IS DISTINCT FROM NEW.scheduled_at)
    EXECUTE FUNCTION postpace_posts_reschedule();
CREATE TRIGGER posts_check_update AFTER UPDATE OF time_zone, provider_key_id, id ON posts
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone
                       OR OLD.provider_key_id IS DISTINCT FROM NEW.provider_key_id
                       OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION postpace_posts_check_update();
CREATE TRIGGER posts_cascade AFTER DELETE ON posts
    REFERENCING OLD TABLE AS old_posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_posts_cascade();
CREATE TRIGGER posts_truncate_check AFTER TRUNCATE ON posts
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_truncate_check();

-- post_targets. The guard is an AFTER trigger: a BEFORE row trigger makes
-- every updated row be fetched and locked once more before the update,
-- whether or not its WHEN holds (4-5% of intake's database CPU); an AFTER
-- row trigger's WHEN is tested on the row the update already has, and a
-- refused move still fails the statement, so the row never changes.
-- post_targets_notify_update skips intake's own writes (postpace_store_events).
CREATE TRIGGER post_targets_insert_guard BEFORE INSERT ON post_targets
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_targets_insert_guard();
CREATE TRIGGER post_targets_rewake_update AFTER UPDATE ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_targets_rewake();
CREATE TRIGGER post_targets_guard AFTER UPDATE OF status ON post_targets
    FOR EACH ROW WHEN (OLD.status IN ('published', 'failed', 'cancelled', 'expired')
                       AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION postpace_targets_guard();
CREATE TRIGGER post_targets_check_update AFTER UPDATE OF post_id, id ON post_targets
    FOR EACH ROW WHEN (OLD.post_id IS DISTINCT FROM NEW.post_id OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION postpace_targets_check_update();
CREATE TRIGGER post_targets_notify_update AFTER UPDATE ON post_targets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('postpace.webhook_store', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION postpace_notify_due();
CREATE TRIGGER post_targets_apply_pending_update AFTER UPDATE ON post_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_apply_pending();
CREATE TRIGGER post_targets_release_events AFTER DELETE ON post_targets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_targets_release_events();
CREATE TRIGGER post_targets_status_changed AFTER UPDATE ON post_targets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_status_changed();

-- provider_keys.
CREATE TRIGGER provider_keys_check_plan BEFORE INSERT OR UPDATE OF provider, plan ON provider_keys
    FOR EACH ROW EXECUTE FUNCTION postpace_keys_check_plan();
CREATE TRIGGER provider_keys_check_update AFTER UPDATE OF id ON provider_keys
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION postpace_keys_check_update();
CREATE TRIGGER provider_keys_check_delete AFTER DELETE ON provider_keys
    REFERENCING OLD TABLE AS old_keys
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_keys_check_delete();
CREATE TRIGGER provider_keys_truncate_check AFTER TRUNCATE ON provider_keys
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_truncate_check();
CREATE TRIGGER provider_keys_paused AFTER UPDATE OF paused_at ON provider_keys
    FOR EACH ROW WHEN (OLD.paused_at IS NULL AND NEW.paused_at IS NOT NULL)
    EXECUTE FUNCTION postpace_keys_paused();

-- subscriptions.
CREATE TRIGGER subscriptions_drop AFTER DELETE ON subscriptions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_subscriptions_drop();

-- providers.
CREATE TRIGGER providers_keep_events_delete AFTER DELETE ON providers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_providers_keep_events();
CREATE TRIGGER providers_keep_events_update AFTER UPDATE ON providers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_providers_keep_events();

-- webhook_events. The insert check skips intake's own writes
-- (postpace_store_events checks what it writes itself).
CREATE TRIGGER webhook_events_refs_insert AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('postpace.webhook_store', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION postpace_webhook_events_refs();
CREATE TRIGGER webhook_events_refs_update AFTER UPDATE ON webhook_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postpace_webhook_events_refs();
