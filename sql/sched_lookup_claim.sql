-- Claims, for each key of $1, at most $2 of its unconfirmed targets due for
-- a re-check (their webhook overdue), to be looked for in the provider's
-- list of posts: publishing under this instance ($3) until now + $4 ms,
-- their tries unchanged (the lookup's answer moves them on through
-- sched_settle.sql; a lapsed claim makes them unconfirmed again). Returns
-- what the lookup compares, with when each target's first request left
-- (epoch ms): a list that reaches back before it proves an absence.
WITH due AS MATERIALIZED (
    SELECT d.id, now() + make_interval(secs => $4::double precision / 1000) AS lapses
      FROM unnest($1::bigint[]) AS k(id)
      JOIN provider_keys pk ON pk.id = k.id AND pk.paused_at IS NULL
     CROSS JOIN LATERAL (
           SELECT t.id
             FROM post_targets t
            WHERE t.recheck_at <= now() AND t.provider_key_id = k.id
            ORDER BY t.recheck_at, t.id
            LIMIT $2
              FOR UPDATE SKIP LOCKED) d
), claimed AS (
    UPDATE post_targets t
       SET status = 'publishing', lease_owner = $3, lease_expires_at = due.lapses,
           lease_lapses_at = due.lapses, recheck_at = NULL, updated_at = now()
      FROM due
     WHERE t.id = due.id
    RETURNING t.id, t.post_id, t.provider_key_id, t.account_id, t.idempotency_key,
              coalesce(t.request_ref, t.idempotency_key) AS ref, t.attempts
)
SELECT c.provider_key_id, c.id, c.account_id, c.idempotency_key, c.ref, p.content, c.attempts,
       (SELECT (extract(epoch FROM min(a.sent_at)) * 1000)::bigint
          FROM attempts a
         WHERE a.provider_key_id = c.provider_key_id
           AND a.sent_at >= p.scheduled_at - interval '1 day'
           AND c.id = ANY (a.target_ids))
  FROM claimed c
  JOIN posts p ON p.id = c.post_id
 ORDER BY c.provider_key_id, c.id;
