-- Per key, by id (postpace status, GET /v1/keys): its state, lease, backlog
-- by status, what is due now and how late the oldest due target is. Returns
-- the key id and its object as JSON text; the forecast (eta, binding) is
-- added by src/status.c from the plan module.
WITH backlog AS (
    SELECT t.provider_key_id AS key_id,
           jsonb_object_agg(t.status, t.n) AS by_status,
           sum(t.due) AS due, max(t.lag_s) AS lag_s
      FROM (SELECT provider_key_id, status, count(*) AS n,
                   count(*) FILTER (WHERE status = 'scheduled' AND next_attempt_at <= now()) AS due,
                   extract(epoch FROM now() - min(next_attempt_at)
                                 FILTER (WHERE status = 'scheduled' AND next_attempt_at <= now()))
                       AS lag_s
              FROM post_targets
             GROUP BY provider_key_id, status) t
     GROUP BY t.provider_key_id
)
SELECT k.id, json_build_object(
           'id', k.id, 'provider', k.provider, 'label', k.label, 'plan', k.plan,
           'enabled', k.enabled, 'paused', k.paused_at IS NOT NULL,
           'paused_at', postpace_utc_text(k.paused_at),
           'lease', CASE WHEN l.owner IS NOT NULL THEN json_build_object(
               'owner', l.owner,
               'expires_at', postpace_utc_text(l.expires_at)) END,
           'backlog', jsonb_build_object('scheduled', 0, 'publishing', 0, 'submitted', 0,
                                         'unconfirmed', 0, 'published', 0, 'failed', 0,
                                         'cancelled', 0, 'expired', 0)
                      || coalesce(b.by_status, '{}'),
           'due', coalesce(b.due, 0),
           'lag_s', coalesce(floor(b.lag_s), 0)::bigint)::text
  FROM provider_keys k
  -- The lease of the key's group: key $1[i] is in the group named $2[i] (the
  -- registry's lease groups, src/registry); a key not given is its own.
  LEFT JOIN unnest($1::bigint[], $2::bigint[]) AS g(key_id, group_id) ON g.key_id = k.id
  LEFT JOIN key_leases l ON l.group_id = coalesce(g.group_id, k.id) AND l.expires_at > now()
  LEFT JOIN backlog b ON b.key_id = k.id
 ORDER BY k.id;
