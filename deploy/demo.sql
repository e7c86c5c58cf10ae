-- The demo calendar: one key per provider, pointed at the bundled simulator
-- (:sim, e.g. http://127.0.0.1:9000) at time scale 60 (a minute lasts a
-- second), and a fresh batch of posts spread over the next minutes.
-- Run by `deploy/dev run`; safe to run again (keys are upserted, posts get
-- new external ids per run).
INSERT INTO provider_keys (provider, label, plan, provider_user_id, provider_account_id,
                           secret_ref, webhook_secret_ref, base_url, time_scale)
VALUES ('posteverywhere', 'demo-pe', 'default', NULL, NULL, 'env:DEMO_PE_KEY', 'env:DEMO_WHSEC',
        :'sim' || '/posteverywhere/api/v1', 60),
       ('schedpilot', 'demo-sp', 'default', 'demo-user', NULL, 'env:DEMO_SP_KEY', 'env:DEMO_WHSEC',
        :'sim' || '/schedpilot/developers/v1', 60),
       ('feedhorizon', 'demo-fh', 'default', NULL, NULL, 'env:DEMO_FH_KEY', 'env:DEMO_WHSEC',
        :'sim' || '/feedhorizon/v1', 60),
       ('postlark', 'demo-pl', 'creator', NULL, 'demo-blog-account', 'env:DEMO_PL_KEY', 'env:DEMO_WHSEC',
        :'sim' || '/postlark/v1', 60),
       ('jestha', 'demo-je', 'default', NULL, 'demo-jestha-account', 'env:DEMO_JE_KEY', 'env:DEMO_WHSEC',
        :'sim' || '/jestha', 60),
       -- Postlark's free plan allows 10 posts for the account's lifetime: the
       -- demo gives it 12, so the web page shows two that never go.
       ('postlark', 'demo-pl-free', 'free', NULL, 'demo-free-account', 'env:DEMO_PLF_KEY',
        'env:DEMO_WHSEC', :'sim' || '/postlark/v1', 60)
ON CONFLICT (provider, label) DO UPDATE SET base_url = excluded.base_url, enabled = true;

-- 400 posts over the next 3 (scaled) hours, i.e. 3 real minutes.
INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at, time_zone)
SELECT 'demo-' || :'run' || '-' || g,
       k.id,
       CASE k.provider
           WHEN 'posteverywhere' THEN ARRAY['pe-instagram', 'pe-linkedin', 'pe-x']
           WHEN 'schedpilot' THEN ARRAY['sp-facebook', 'sp-threads']
           WHEN 'feedhorizon' THEN ARRAY['twitter', 'linkedin']
           WHEN 'postlark' THEN ARRAY['blog-main']
           ELSE ARRAY['jestha-main']
       END,
       'Demo post ' || g || ' via ' || k.provider,
       now() + (g % 180) * interval '1 second',
       'Europe/Paris'
  FROM generate_series(1, 400) g
  JOIN provider_keys k ON k.label = (ARRAY['demo-pe', 'demo-sp', 'demo-fh', 'demo-pl', 'demo-je'])[1 + g % 5];

-- 12 posts on the free Postlark key, one every 15 seconds: the last two meet
-- its spent quota (on a rerun, all twelve do).
INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at, time_zone)
SELECT 'demo-' || :'run' || '-free-' || g, k.id, ARRAY['free-blog'],
       'Demo post ' || g || ' on a free plan', now() + g * interval '15 seconds', 'Europe/Paris'
  FROM generate_series(1, 12) g
  JOIN provider_keys k ON k.label = 'demo-pl-free';
