-- Gives provider $1's pending events $2 the fields read anew (parallel
-- arrays: verdict type, raw type, reference, provider post id, account) and
-- applies those that now match (postpace_rematch_events). Returns how many
-- are now applied.
SELECT postpace_rematch_events($1::text, $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                               $7::text[]);
