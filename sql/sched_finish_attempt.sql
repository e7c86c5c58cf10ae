-- Finishes attempts rows, one per element of the parallel arrays: id $1,
-- HTTP status $2 (NULL: none), outcome $3, retry-after $4 ms (NULL: none),
-- response excerpt $5 (cut to 2 KiB).
UPDATE attempts a
   SET finished_at = now(), http_status = v.status, outcome = v.outcome,
       retry_after_ms = v.retry_ms, response_excerpt = left(v.excerpt, 2048)
  FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], $5::text[])
       AS v(id, status, outcome, retry_ms, excerpt)
 WHERE a.id = v.id;
