-- Claims one request's worth for key $1: the due targets of its earliest due
-- post (at most $2 of them), marked publishing under this instance ($3) until
-- now + $4 ms. Returns them with what to send. The intent is committed, with
-- its attempts row, before the request leaves.
WITH first AS MATERIALIZED (
    SELECT post_id
      FROM post_targets
     WHERE provider_key_id = $1 AND status = 'scheduled' AND next_attempt_at <= now()
     ORDER BY next_attempt_at, id
     LIMIT 1
       FOR UPDATE SKIP LOCKED
), picked AS MATERIALIZED (
    SELECT t.id
      FROM post_targets t, first
     WHERE t.post_id = first.post_id AND t.provider_key_id = $1
       AND t.status = 'scheduled' AND t.next_attempt_at <= now()
     ORDER BY t.id
     LIMIT $2
       FOR UPDATE OF t SKIP LOCKED
), claimed AS (
    UPDATE post_targets t
       SET status = 'publishing', attempts = t.attempts + 1, lease_owner = $3,
           lease_expires_at = now() + make_interval(secs => $4::double precision / 1000),
           updated_at = now()
      FROM picked
     WHERE t.id = picked.id
    RETURNING t.id, t.post_id, t.account_id, t.idempotency_key, t.attempts
)
SELECT c.id, c.account_id, c.idempotency_key, c.attempts, p.content, p.media::text
  FROM claimed c
  JOIN posts p ON p.id = c.post_id
 ORDER BY c.id;
