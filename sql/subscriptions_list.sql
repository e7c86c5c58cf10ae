-- Every subscription with its deliveries by state, as one JSON array.
SELECT coalesce(jsonb_agg(x ORDER BY x.id), '[]')::text
  FROM (SELECT s.id, s.url, s.secret_ref, s.event_types, s.provider, s.key_id, s.enabled,
               s.created_at,
               (SELECT jsonb_build_object('pending', count(*) FILTER (WHERE o.state = 'pending'),
                                          'delivered', count(*) FILTER (WHERE o.state = 'delivered'),
                                          'dead', count(*) FILTER (WHERE o.state = 'dead'))
                  FROM outbox o WHERE o.subscription_id = s.id) AS deliveries
          FROM subscriptions s) x;
