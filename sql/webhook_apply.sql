-- Applies newly stored events in arrival order; 0 moved means pending or no-op.
SELECT e.provider, e.event_id, postpace_apply_event(e.provider, e.event_id)
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS e(provider, event_id, n)
 ORDER BY e.n;
