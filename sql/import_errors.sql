-- import: every refused row's reasons, by line, then in column order.
SELECT c.line, split_part(e.entry, E'\t', 1) AS col, substr(e.entry, strpos(e.entry, E'\t') + 1) AS reason
  FROM import_checked c
 CROSS JOIN LATERAL unnest(c.errors) WITH ORDINALITY AS e(entry, n)
 WHERE cardinality(c.errors) > 0
 ORDER BY c.line,
          coalesce(array_position(ARRAY['record', 'external_id', 'provider_key', 'account_ids',
                                        'content', 'media', 'scheduled_at', 'time_zone'],
                                  split_part(e.entry, E'\t', 1)), 99),
          e.n
