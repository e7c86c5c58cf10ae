UPDATE attempts
   SET finished_at = now(), http_status = $2::int, outcome = $3,
       retry_after_ms = $4::bigint, response_excerpt = left($5, 2048)
 WHERE id = $1;
