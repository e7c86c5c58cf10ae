-- api: after PATCH changed the accounts of post $1 (nothing of it sent):
-- drops the targets of accounts no longer named. Its own statement, before
-- api_post_retarget, so that the slots it frees are free when that runs.
DELETE FROM post_targets t
 USING posts p
 WHERE p.id = $1::bigint
   AND postpace_target_of(t, p.id)
   AND NOT (t.account_id = ANY (p.account_ids))
