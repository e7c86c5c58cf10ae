-- Claims whose holder vanished: the request may have left, so the target is
-- unconfirmed (settled by its webhook, or retried with the same key after
-- $1 ms), never blindly re-sent.
UPDATE post_targets
   SET status = 'unconfirmed', lease_owner = NULL, lease_expires_at = NULL,
       next_attempt_at = now() + make_interval(secs => $1::double precision / 1000),
       updated_at = now()
 WHERE status = 'publishing' AND lease_expires_at < now();
