-- The sends of one key that can still count in a window: the last 32 days
-- (longer than any rolling, fixed or monthly window), plus the posts of every
-- earlier send for lifetime quotas, folded into one row at the cut-off.
-- An attempt that never left (outcome 'retryable': the connection was
-- refused, or the request was dropped while it waited for its slot) counts
-- nowhere; one whose answer is not recorded yet counts.
SELECT (extract(epoch FROM sent_at) * 1000)::bigint, route, accounts, posts
  FROM attempts
 WHERE provider_key_id = $1 AND sent_at >= now() - interval '32 days'
   AND outcome IS DISTINCT FROM 'retryable'
UNION ALL
SELECT (extract(epoch FROM min(sent_at)) * 1000)::bigint, route, sum(accounts)::int, sum(posts)::int
  FROM attempts
 WHERE provider_key_id = $1 AND sent_at < now() - interval '32 days'
   AND outcome IS DISTINCT FROM 'retryable'
 GROUP BY route
ORDER BY 1;
