-- Finishes attempts rows, one per element of the parallel arrays: id $1,
-- HTTP status $2 (NULL: none), outcome $3, retry-after $4 ms (NULL: none),
-- response excerpt $5 (cut to 2 KiB), and $6 the moment the request really
-- left, epoch ms (NULL: keep). The intent recorded the slot it waited for,
-- which a busy loop may fire late; a new lease holder rebuilds the key's
-- windows from sent_at, so it must be when the provider could count it.
UPDATE attempts a
   SET finished_at = now(), http_status = v.status, outcome = v.outcome,
       retry_after_ms = v.retry_ms, response_excerpt = left(v.excerpt, 2048),
       sent_at = coalesce(to_timestamp(v.sent_ms::double precision / 1000), a.sent_at)
  FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
       AS v(id, status, outcome, retry_ms, excerpt, sent_ms)
 WHERE a.id = v.id;
