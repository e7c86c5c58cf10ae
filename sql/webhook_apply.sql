-- Applies the newly stored events of a batch in one statement.
SELECT postpace_apply_events($1::text[], $2::text[]);
