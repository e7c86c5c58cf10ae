-- import: how the checked rows split: refused, already in the calendar, to
-- insert; and of those to insert, the ones scheduled in the past: overdue by
-- less than the catch-up window ($1 ms: sent at once) or by more (their
-- targets expire unsent), each with its first line, for the warning.
SELECT count(*) FILTER (WHERE cardinality(errors) > 0),
       count(*) FILTER (WHERE cardinality(errors) = 0 AND present),
       count(*) FILTER (WHERE cardinality(errors) = 0 AND NOT present),
       count(*) FILTER (WHERE cardinality(errors) = 0 AND NOT present AND scheduled_at < now()
                          AND scheduled_at >= now() - make_interval(secs => $1::double precision / 1000)),
       min(line) FILTER (WHERE cardinality(errors) = 0 AND NOT present AND scheduled_at < now()
                          AND scheduled_at >= now() - make_interval(secs => $1::double precision / 1000)),
       count(*) FILTER (WHERE cardinality(errors) = 0 AND NOT present
                          AND scheduled_at < now() - make_interval(secs => $1::double precision / 1000)),
       min(line) FILTER (WHERE cardinality(errors) = 0 AND NOT present
                          AND scheduled_at < now() - make_interval(secs => $1::double precision / 1000))
  FROM import_checked
