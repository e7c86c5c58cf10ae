-- Per key: its lease, backlog by status, what is due now, and how far behind.
SELECT k.id, k.provider, k.label, coalesce(l.owner, '-') AS lease,
       count(t.id) FILTER (WHERE t.status = 'scheduled') AS scheduled,
       count(t.id) FILTER (WHERE t.status = 'scheduled' AND t.next_attempt_at <= now()) AS due,
       count(t.id) FILTER (WHERE t.status = 'publishing') AS publishing,
       count(t.id) FILTER (WHERE t.status = 'submitted') AS submitted,
       count(t.id) FILTER (WHERE t.status = 'unconfirmed') AS unconfirmed,
       count(t.id) FILTER (WHERE t.status = 'published') AS published,
       count(t.id) FILTER (WHERE t.status IN ('failed', 'expired')) AS failed,
       coalesce(extract(epoch FROM now() - min(t.next_attempt_at)
                FILTER (WHERE t.status = 'scheduled' AND t.next_attempt_at <= now())), 0)::bigint AS lag_s
  FROM provider_keys k
  LEFT JOIN post_targets t ON t.provider_key_id = k.id
  LEFT JOIN key_leases l ON l.group_id = k.id AND l.expires_at > now()
 GROUP BY k.id, k.provider, k.label, l.owner
 ORDER BY k.id;
