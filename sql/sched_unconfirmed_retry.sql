-- Unconfirmed targets whose webhook never came, of keys $2 whose provider
-- honours idempotency keys (providers.lookup "idempotent"): retried (same
-- idempotency key) while attempts remain ($1), else failed. Other keys'
-- are looked up or held instead (sched_lookup_claim.sql,
-- sched_unconfirmed_hold.sql). (recheck_at: next_attempt_at while
-- unconfirmed, else NULL.)
UPDATE post_targets
   SET status = CASE WHEN attempts < $1 THEN 'scheduled' ELSE 'failed' END::target_status,
       due_at = CASE WHEN attempts < $1 THEN next_attempt_at END, recheck_at = NULL,
       last_error = CASE WHEN attempts < $1 THEN last_error
                         ELSE jsonb_build_object('code', 'unconfirmed',
                                                 'message', 'no answer and no webhook after the last attempt') END,
       updated_at = now()
 WHERE recheck_at <= now() AND provider_key_id = ANY ($2::bigint[]);
