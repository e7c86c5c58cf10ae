-- Per key: its lease, backlog by status, what is due now, how far behind, and
-- whether an operator paused it.
SELECT k.id, k.provider, k.label, coalesce(l.owner, '-') AS lease,
       count(t.id) FILTER (WHERE t.status = 'scheduled') AS scheduled,
       count(t.id) FILTER (WHERE t.status = 'scheduled' AND t.next_attempt_at <= now()) AS due,
       count(t.id) FILTER (WHERE t.status = 'publishing') AS publishing,
       count(t.id) FILTER (WHERE t.status = 'submitted') AS submitted,
       count(t.id) FILTER (WHERE t.status = 'unconfirmed') AS unconfirmed,
       count(t.id) FILTER (WHERE t.status = 'published') AS published,
       count(t.id) FILTER (WHERE t.status IN ('failed', 'expired')) AS failed,
       coalesce(extract(epoch FROM now() - min(t.next_attempt_at)
                FILTER (WHERE t.status = 'scheduled' AND t.next_attempt_at <= now())), 0)::bigint AS lag_s,
       k.paused_at IS NOT NULL AS paused
  FROM provider_keys k
  LEFT JOIN post_targets t ON t.provider_key_id = k.id
  LEFT JOIN key_leases l ON l.group_id = k.id AND l.expires_at > now()
 GROUP BY k.id, k.provider, k.label, l.owner, k.paused_at
 ORDER BY k.id;
