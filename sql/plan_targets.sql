-- The targets `postpace plan` simulates: every unsettled target of an enabled
-- key due before $1 (epoch ms), with its post's scheduled time. 'scheduled'
-- ones wait for a slot; 'publishing' and 'unconfirmed' ones are in flight
-- (their attempt is already in the history). Overdue ones are included: they
-- go first. Times are epoch ms (date_part: a double, rounded to the ms, is
-- exact for timestamps and cheaper than numeric extract over 100,000 rows).
SELECT t.id, t.post_id, t.provider_key_id,
       (date_part('epoch', t.next_attempt_at) * 1000)::bigint,
       (date_part('epoch', p.scheduled_at) * 1000)::bigint,
       t.status <> 'scheduled'
  FROM post_targets t
  JOIN posts p ON p.id = t.post_id
  JOIN provider_keys k ON k.id = t.provider_key_id
 WHERE k.enabled
   AND t.status IN ('scheduled', 'publishing', 'unconfirmed')
   AND t.next_attempt_at < to_timestamp($1::bigint / 1000.0);
