-- Claims one request's worth for each key of $1 (key ids, a paused one left
-- out) the limiter lets send now: the due targets of the key's earliest due post, at most $2[i] of
-- them (parallel to $1), marked publishing under this instance ($3) until
-- now + $4 ms, with the request's key (request_ref: the first target's own
-- key, plus '+N' when it carries N > 1 targets). Returns them grouped by key,
-- with what to send. The intent is committed, with its attempts rows, before
-- any request leaves. SKIP LOCKED everywhere: a claim never waits, so it
-- cannot deadlock with anything. due_at <= now() is "scheduled and due"
-- (due_at: next_attempt_at while scheduled, else NULL, kept by each writer;
-- see post_targets in migrations/0001_baseline.sql).
WITH want AS (
    SELECT w.*
      FROM unnest($1::bigint[], $2::int[]) AS w(key_id, lim)
      JOIN provider_keys k ON k.id = w.key_id AND k.paused_at IS NULL  -- read at every claim
), first AS MATERIALIZED (
    SELECT w.key_id, w.lim, f.post_id
      FROM want w
     CROSS JOIN LATERAL (
           SELECT t.post_id
             FROM post_targets t
            WHERE t.provider_key_id = w.key_id AND t.due_at <= now()
            ORDER BY t.due_at, t.id
            LIMIT 1
              FOR UPDATE SKIP LOCKED) f
), picked AS MATERIALIZED (
    SELECT p.id, now() + make_interval(secs => $4::double precision / 1000) AS lapses,
           CASE WHEN count(*) OVER w = 1 THEN first_value(p.idempotency_key) OVER w
                ELSE first_value(p.idempotency_key) OVER w || '+' || count(*) OVER w END AS ref
      FROM first
     CROSS JOIN LATERAL (
           SELECT t.id, t.idempotency_key
             FROM post_targets t
            WHERE postpace_target_of(t, first.post_id)
              AND t.provider_key_id = first.key_id
              AND t.due_at <= now()
            ORDER BY t.id
            LIMIT first.lim
              FOR UPDATE SKIP LOCKED) p
    WINDOW w AS (PARTITION BY first.key_id ORDER BY p.id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
), claimed AS (
    UPDATE post_targets t
       SET status = 'publishing', attempts = t.attempts + 1, lease_owner = $3,
           lease_expires_at = picked.lapses, lease_lapses_at = picked.lapses, due_at = NULL,
           request_ref = picked.ref, updated_at = now()
      FROM picked
     WHERE t.id = picked.id
    RETURNING t.id, t.post_id, t.provider_key_id, t.account_id, t.idempotency_key, t.attempts,
              t.request_ref
)
SELECT c.provider_key_id, c.id, c.account_id, c.idempotency_key, c.attempts, p.content,
       p.media::text, c.request_ref
  FROM claimed c
  JOIN posts p ON p.id = c.post_id
 ORDER BY c.provider_key_id, c.id;
