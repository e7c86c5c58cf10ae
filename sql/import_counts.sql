-- import: how the checked rows split: refused, already in the calendar, to insert.
SELECT count(*) FILTER (WHERE cardinality(errors) > 0),
       count(*) FILTER (WHERE cardinality(errors) = 0 AND present),
       count(*) FILTER (WHERE cardinality(errors) = 0 AND NOT present)
  FROM import_checked
