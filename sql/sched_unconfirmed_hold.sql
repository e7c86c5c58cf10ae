-- Unconfirmed targets whose webhook never came, of keys $1 whose provider
-- neither honours idempotency keys nor has a list of posts to look in: a
-- re-send could post twice, so they stay unconfirmed for an operator, with
-- last_error saying so, and are looked at again in $2 ms (the configuration
-- may have changed by then).
UPDATE post_targets
   SET next_attempt_at = v.at, recheck_at = v.at,
       last_error = jsonb_build_object(
           'code', 'unconfirmed',
           'message', 'no answer and no webhook; the provider is not known to honour idempotency '
                      'keys and has no list of posts configured to look in (providers.lookup), so '
                      'it is not re-sent: check the provider and settle it by hand'),
       updated_at = now()
  FROM (SELECT now() + make_interval(secs => $2::double precision / 1000) AS at) v
 WHERE recheck_at <= now() AND provider_key_id = ANY ($1::bigint[]);
