-- api: after PATCH changed the accounts of post $1 (nothing of it sent):
-- its targets follow them (postpace_retarget in migrations/0001_baseline.sql:
-- the only maker of targets besides posts_expand).
SELECT postpace_retarget($1::bigint)
