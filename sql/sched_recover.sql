-- Claims whose holder vanished: the request may have left, so the target is
-- unconfirmed (settled by its webhook, or retried with the same key after
-- $1 ms), never blindly re-sent. (lease_lapses_at: lease_expires_at while
-- publishing, else NULL.)
UPDATE post_targets
   SET status = 'unconfirmed', lease_owner = NULL, lease_expires_at = NULL, lease_lapses_at = NULL,
       next_attempt_at = v.at, recheck_at = v.at, updated_at = now()
  FROM (SELECT now() + make_interval(secs => $1::double precision / 1000) AS at) v
 WHERE lease_lapses_at < now();
