-- Takes or renews the leases of the given groups for this instance: a lease
-- that lapsed, or is already ours, becomes ours until now + ttl. Returns the
-- groups held, and whether each was just taken (its windows must be rebuilt).
INSERT INTO key_leases AS l (group_id, owner, expires_at)
SELECT g, $2, now() + make_interval(secs => $3::double precision / 1000)
  FROM unnest($1::bigint[]) AS g
ON CONFLICT (group_id) DO UPDATE
   SET owner = excluded.owner,
       expires_at = excluded.expires_at,
       taken_at = CASE WHEN l.owner = excluded.owner THEN l.taken_at ELSE now() END
 WHERE l.owner = excluded.owner OR l.expires_at < now()
RETURNING group_id, taken_at = now() AS fresh;
