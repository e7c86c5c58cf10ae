SELECT status::text, count(*) FROM post_targets GROUP BY status ORDER BY status;
