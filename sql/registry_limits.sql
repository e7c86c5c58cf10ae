SELECT provider, plan, coalesce(key_id, 0), scope, route, kind, coalesce(window_ms, 0),
       max_units, cost
  FROM rate_limits
 ORDER BY id;
