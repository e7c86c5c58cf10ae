-- api: posts as the API shows them, in the order of $1 (bigint[] of post
-- ids), each with its targets; $2 true: with each target's attempts
-- (attempt_log), the webhook events matched to them and the post's outgoing
-- webhook deliveries (NULL otherwise).
-- Times are postpace_utc_text: UTC, RFC 3339, fractions only when not zero. One row per post found, its JSON as text.
SELECT json_build_object(
           'id', p.id,
           'external_id', p.external_id,
           'provider', k.provider,
           'provider_key_id', k.id,
           'provider_key', k.label,
           'account_ids', p.account_ids,
           'content', p.content,
           'media', p.media,
           'scheduled_at', postpace_utc_text(p.scheduled_at),
           'time_zone', p.time_zone,
           'scheduled_local', to_char(p.scheduled_at AT TIME ZONE p.time_zone, 'YYYY-MM-DD"T"HH24:MI:SS'),
           'created_at', postpace_utc_text(p.created_at),
           'updated_at', postpace_utc_text(p.updated_at),
           'targets', coalesce(tg.list, '[]'::json),
           -- The webhook events received about the post's targets ($2 only).
           'events', CASE WHEN $2::boolean THEN coalesce((
               SELECT json_agg(json_build_object(
                          'provider', w.provider,
                          'event_id', w.event_id,
                          'type', w.event_type,
                          'raw_type', w.raw_type,
                          'target_id', w.target_id,
                          'provider_post_id', w.provider_post_id,
                          'received_at', postpace_utc_text(w.received_at),
                          'applied_at', postpace_utc_text(w.applied_at))
                      ORDER BY w.received_at, w.event_id)
                 FROM webhook_events w
                WHERE w.target_id IN (SELECT t.id FROM post_targets t WHERE postpace_target_of(t, p.id))),
               '[]'::json) END,
           -- The outgoing webhooks about the post ($2 only; README "Outgoing webhooks").
           'deliveries', CASE WHEN $2::boolean THEN coalesce((
               SELECT json_agg(json_build_object(
                          'id', o.id,
                          'subscription_id', o.subscription_id,
                          'type', o.event_type,
                          'target_id', o.target_id,
                          'state', o.state,
                          'attempts', o.attempts,
                          'last_status', o.last_status,
                          'last_error', o.last_error,
                          'created_at', postpace_utc_text(o.created_at),
                          'delivered_at', postpace_utc_text(o.delivered_at))
                      ORDER BY o.id)
                 FROM outbox o
                WHERE o.post_id = p.id), '[]'::json) END)::text
  FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n)
  JOIN posts p ON p.id = u.id
  JOIN provider_keys k ON k.id = p.provider_key_id
  LEFT JOIN LATERAL (
      SELECT json_agg(json_build_object(
                 'id', t.id,
                 'account_id', t.account_id,
                 'status', t.status,
                 'attempts', t.attempts,
                 'next_attempt_at', postpace_utc_text(t.next_attempt_at),
                 'provider_post_id', t.provider_post_id,
                 'last_error', t.last_error,
                 'updated_at', postpace_utc_text(t.updated_at),
                 'attempt_log', CASE WHEN $2::boolean THEN coalesce((
                     -- A target's requests were sent after its post was created: the
                     -- bound (a day of margin for clock skew between instances) lets
                     -- attempts_key_sent skip the key's older history.
                     SELECT json_agg(json_build_object(
                                'id', a.id,
                                'route', a.route,
                                'sent_at', postpace_utc_text(a.sent_at),
                                'finished_at', postpace_utc_text(a.finished_at),
                                'http_status', a.http_status,
                                'outcome', a.outcome,
                                'retry_after_ms', a.retry_after_ms) ORDER BY a.sent_at, a.id)
                       FROM attempts a
                      WHERE a.provider_key_id = t.provider_key_id
                        AND a.sent_at >= p.created_at - interval '1 day'
                        AND t.id = ANY (a.target_ids)), '[]'::json) END)
             ORDER BY t.id) AS list
        FROM post_targets t
       WHERE postpace_target_of(t, p.id)) tg ON true
 ORDER BY u.n
