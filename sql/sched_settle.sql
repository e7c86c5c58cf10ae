-- Moves one claimed target on from publishing; a no-op if a webhook (or a
-- takeover) already moved it. $2: submitted | scheduled | unconfirmed | failed.
UPDATE post_targets
   SET status = $2::target_status,
       provider_post_id = coalesce($3, provider_post_id),
       next_attempt_at = coalesce(to_timestamp($4::double precision / 1000), next_attempt_at),
       last_error = coalesce($5::jsonb, last_error),
       attempts = attempts - $6::int,
       lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
 WHERE id = $1 AND status = 'publishing' AND lease_owner = $7;
