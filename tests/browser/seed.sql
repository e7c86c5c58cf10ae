-- The browser test's calendar (tests/browser/test_browser.c): five keys, one per
-- provider, pointed at a closed loopback port (served with scheduler = 0, so
-- nothing is sent and every status stays as set here), and 277 posts over
-- the next two days:
--   pe  100 posts, one every 20 minutes: on time; 8 cancelled, 12 published
--   fh   60 posts, one every 30 minutes: on time; 7 of them failed
--   je   60 posts at one instant: Jestha's 10 creates a minute, paced, make 59 slip
--   sp   45 posts at one instant: SchedPilot's 30 writes an hour, paced, make 42 slip
--   pl   12 posts on the free plan: its 10 posts for life leave 2 never going
-- The test asserts these counts. Port 9 (discard) is closed on loopback.
INSERT INTO provider_keys (provider, label, plan, secret_ref, base_url)
VALUES ('posteverywhere', 'pe', 'default', 'env:BROWSER_KEY', 'http://127.0.0.1:9'),
       ('feedhorizon', 'fh', 'default', 'env:BROWSER_KEY', 'http://127.0.0.1:9'),
       ('jestha', 'je', 'default', 'env:BROWSER_KEY', 'http://127.0.0.1:9'),
       ('schedpilot', 'sp', 'default', 'env:BROWSER_KEY', 'http://127.0.0.1:9'),
       ('postlark', 'pl', 'free', 'env:BROWSER_KEY', 'http://127.0.0.1:9');

-- From a whole hour on, so the clock-hour windows (SchedPilot's) bind the
-- same way whenever the test runs; the scheduler's tests pin the rest.
CREATE TEMP TABLE t0 AS SELECT date_trunc('hour', now()) + interval '2 hours' AS t;

INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at)
SELECT 'pe-' || g, (SELECT id FROM provider_keys WHERE label = 'pe'),
       ARRAY['pe-instagram', 'pe-linkedin', 'pe-x'], 'PostEverywhere post ' || g,
       (SELECT t FROM t0) + g * interval '20 minutes'
  FROM generate_series(1, 100) g;
INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at)
SELECT 'fh-' || g, (SELECT id FROM provider_keys WHERE label = 'fh'), ARRAY['twitter', 'linkedin'],
       'FeedHorizon post ' || g, (SELECT t FROM t0) + g * interval '30 minutes'
  FROM generate_series(1, 60) g;
INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at)
SELECT 'je-' || g, (SELECT id FROM provider_keys WHERE label = 'je'), ARRAY['jestha-main'],
       'Jestha post ' || g, (SELECT t FROM t0) + interval '3 hours'
  FROM generate_series(1, 60) g;
INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at)
SELECT 'sp-' || g, (SELECT id FROM provider_keys WHERE label = 'sp'), ARRAY['sp-facebook'],
       'SchedPilot post ' || g, (SELECT t FROM t0) + interval '4 hours'
  FROM generate_series(1, 45) g;
INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at)
SELECT 'pl-' || g, (SELECT id FROM provider_keys WHERE label = 'pl'), ARRAY['blog-main'],
       'Postlark post ' || g, (SELECT t FROM t0) + interval '1 day' + g * interval '1 hour'
  FROM generate_series(1, 12) g;

-- Statuses the scheduler would have set: failed (with the provider's error),
-- published, cancelled.
UPDATE post_targets t SET status = 'failed', attempts = 1,
       last_error = '{"code": "400", "message": "content rejected"}'
  FROM posts p WHERE p.id = t.post_id AND p.external_id IN
       ('fh-1', 'fh-2', 'fh-3', 'fh-10', 'fh-20', 'fh-30', 'fh-40');
UPDATE post_targets t SET status = 'published', attempts = 1, provider_post_id = 'pe-live-' || t.id
  FROM posts p WHERE p.id = t.post_id AND p.external_id IN
       (SELECT 'pe-' || g FROM generate_series(1, 12) g);
UPDATE post_targets t SET status = 'cancelled'
  FROM posts p WHERE p.id = t.post_id AND p.external_id IN
       (SELECT 'pe-' || g FROM generate_series(93, 100) g);

-- The webhooks that published pe-1 .. pe-12, one per target, as the intake
-- stores them (matched: target_id and applied_at set).
INSERT INTO webhook_events (provider, event_id, event_type, raw_type, payload, target_id,
                            applied_at, provider_post_id, account_id, key_id)
SELECT 'posteverywhere', 'evt-' || t.id, 'post.published', 'post.published', '{}', t.id, now(),
       t.provider_post_id, t.account_id, t.provider_key_id
  FROM post_targets t JOIN posts p ON p.id = t.post_id
 WHERE p.external_id IN (SELECT 'pe-' || g FROM generate_series(1, 12) g);
