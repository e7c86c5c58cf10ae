-- The five providers and every limit their documentation states
-- (../shared/providers/*.txt). Base URLs and limits are data: override a
-- provider's base_url/time_scale here, or per key in provider_keys and in
-- rate_limits rows with key_id set. README "Rate limits" maps each row to
-- the sentence of the docs it comes from.

INSERT INTO providers (id, name, base_url, reset_kind, batch_accounts, max_content_len,
                       max_media, max_media_bytes, media_types) VALUES
    ('posteverywhere', 'PostEverywhere', 'https://app.posteverywhere.ai/api/v1', 'unix', true,
     NULL, NULL, NULL, NULL),
    ('schedpilot', 'SchedPilot', 'https://api.schedpilot.com/developers/v1', 'none', true,
     NULL, NULL, NULL, NULL),
    ('feedhorizon', 'FeedHorizon', 'https://api.feedhorizon.com/v1', 'seconds', true,
     NULL, NULL, NULL, NULL),
    ('postlark', 'Postlark', 'https://api.postlark.ai/v1', 'unix', false,
     NULL, NULL, NULL, NULL),
    ('jestha', 'Jestha', 'https://api.jestha.com', 'unix', false,
     NULL, 4, 8000000,
     ARRAY['image/jpeg', 'image/png', 'image/gif', 'image/webp',
           'video/mp4', 'video/mpeg', 'video/quicktime', 'video/webm']);

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
CREATE TRIGGER provider_keys_check_plan BEFORE INSERT OR UPDATE OF provider, plan ON provider_keys
    FOR EACH ROW EXECUTE FUNCTION postpace_keys_check_plan();
