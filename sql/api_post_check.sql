-- api: checks posts by their provider's rules and against the calendar,
-- with the rules and words of the importer (sql/import_check.sql, which
-- works on a whole staging table): content length; media count, size and
-- type; the zone; daylight saving (a local time in a gap or an overlap is
-- refused, never shifted); the key. Then inserts, in the same statement,
-- each post asked for ($9) that passed and whose external_id no post holds;
-- the posts_expand trigger makes their targets, and every statement
-- trigger runs once for the lot. The parameters arrive well-formed
-- (src/http/api_input.c); NULL means not given or already refused there.
-- One array entry per post, all arrays as long: $1 external_id text[],
-- $2 provider_key (a key id or label), $3 account_ids (each a text[]
-- literal), $4 content, $5 media jsonb[], $6 local time (timestamp[]),
-- $7 its offset (+HH:MM), NULL for a local time in the zone, $8 time_zone
-- (NULL: UTC), $9 wanted (boolean[]): insert the post if it passes (false
-- for an edit's check, and for a post the body reader refused). A row per
-- post, in order: details ({field: reason}, NULL when the post is good),
-- the key id, the instant, the zone, and a post already holding that
-- external_id: its id, whether it is this very post, and which fields
-- differ; whether the instant is already past (accepted, with a warning:
-- README); the id of the post inserted for it, NULL when none was (a
-- create that passed and found no post holding its external_id, yet has
-- no id, lost that external_id to a concurrent create or to an earlier
-- post of this batch: the caller checks it again); and the post's place in
-- the arrays (from 1).
-- One statement for a batch of creates (api_work_create_batch): its
-- functions run per post, its planning and round trip once.
WITH input AS MATERIALIZED (
    -- Materialized, so the checks below read columns, not constants: the
    -- planner cannot fold AT TIME ZONE with a bad zone ahead of its CASE guard.
    SELECT u.n, u.external_id, u.provider_key, u.accounts::text[] AS accounts, u.content,
           u.media, u.local, u.off, coalesce(u.tz, 'UTC') AS tz, coalesce(u.wanted, false) AS wanted
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamp[],
                  $7::text[], $8::text[], $9::boolean[])
           WITH ORDINALITY AS u(external_id, provider_key, accounts, content, media, local, off,
                                tz, wanted, n)
), key AS (
    -- A key id, else a label naming exactly one key.
    SELECT i.n, m.key_id, m.matches, p.id AS provider, p.max_content_len, p.max_media,
           p.max_media_bytes, p.media_types
      FROM input i
     CROSS JOIN LATERAL postpace_key_lookup(i.provider_key) m
      LEFT JOIN provider_keys pk ON pk.id = m.key_id
      LEFT JOIN providers p ON p.id = pk.provider
), timed AS (
    SELECT i.*, k.key_id, k.matches, k.provider, k.max_content_len, k.max_media,
           k.max_media_bytes, k.media_types, z.name IS NOT NULL AS tz_ok,
           CASE WHEN i.off IS NOT NULL THEN (i.local::text || i.off)::timestamptz
                WHEN z.name IS NOT NULL THEN i.local AT TIME ZONE i.tz END AS at
      FROM input i
      JOIN key k ON k.n = i.n
     -- postpace_is_time_zone, written out as a join: a call is parsed,
     -- planned and run as a query of its own per post.
      LEFT JOIN time_zones z ON z.name = i.tz
), verdict AS (
    SELECT d.*, p.id AS existing_id,
           p.id IS NOT NULL AND p.provider_key_id = d.key_id AND p.account_ids = d.accounts
               AND p.content = d.content AND p.media = d.media AND p.scheduled_at = d.at
               AND p.time_zone = d.tz AS same,
           CASE WHEN p.id IS NOT NULL THEN concat_ws(',',
               CASE WHEN p.provider_key_id IS DISTINCT FROM d.key_id THEN 'provider_key' END,
               CASE WHEN p.account_ids IS DISTINCT FROM d.accounts THEN 'account_ids' END,
               CASE WHEN p.content IS DISTINCT FROM d.content THEN 'content' END,
               CASE WHEN p.media IS DISTINCT FROM d.media THEN 'media' END,
               CASE WHEN p.scheduled_at IS DISTINCT FROM d.at THEN 'scheduled_at' END,
               CASE WHEN p.time_zone IS DISTINCT FROM d.tz THEN 'time_zone' END) END AS differs
      FROM timed d
      LEFT JOIN posts p ON p.external_id = d.external_id
), checked AS (
    SELECT v.*, array_remove(ARRAY[
           -- provider_key
           CASE WHEN v.provider_key IS NOT NULL AND v.matches = 0 THEN
               format(E'provider_key\tunknown key "%s" (neither a key id nor a label in provider_keys)', v.provider_key) END,
           CASE WHEN v.key_id IS NULL AND v.matches > 1 THEN
               format(E'provider_key\tthe label "%s" names %s keys: give the key id', v.provider_key, v.matches) END,
           -- content
           CASE WHEN length(v.content) > v.max_content_len THEN
               format(E'content\t%s characters, %s allows %s', length(v.content), v.provider, v.max_content_len) END,
           -- media
           CASE WHEN jsonb_array_length(v.media) > v.max_media THEN
               format(E'media\t%s files, %s allows %s', jsonb_array_length(v.media), v.provider, v.max_media) END,
           CASE WHEN jsonb_array_length(v.media) > 0 THEN
               (SELECT E'media\t' || string_agg(format('file %s: %s', m.n, m.why), '; ' ORDER BY m.n)
                  FROM (SELECT i.n, CASE
                          WHEN (i.item ->> 'size_bytes')::numeric > v.max_media_bytes THEN
                              format('%s bytes, %s allows %s', i.item ->> 'size_bytes', v.provider, v.max_media_bytes)
                          WHEN NOT (i.item ->> 'mime_type' = ANY (v.media_types)) THEN
                              format('type %s is not allowed by %s (allowed: %s)', i.item ->> 'mime_type', v.provider,
                                     array_to_string(v.media_types, ', '))
                          END AS why
                          FROM jsonb_array_elements(v.media) WITH ORDINALITY AS i(item, n)) m
                 WHERE m.why IS NOT NULL) END,
           -- scheduled_at
           CASE WHEN v.off IS NULL AND v.tz_ok THEN
               E'scheduled_at\t' || postpace_dst_problem(v.local, v.tz) END,
           -- time_zone
           CASE WHEN NOT v.tz_ok THEN
               format(E'time_zone\tunknown time zone "%s" (want an IANA name such as Europe/Paris)', v.tz) END
       ], NULL) AS errs
      FROM verdict v
), fresh AS MATERIALIZED (
    -- Ids for the posts to insert, drawn here so each row knows its post
    -- (the sequence looked up once, not per id).
    SELECT c.n, nextval(s.seq) AS id
      FROM checked c,
           (SELECT pg_get_serial_sequence('posts', 'id')::regclass AS seq) s
     WHERE c.wanted AND c.errs = '{}' AND c.existing_id IS NULL
), made AS (
    -- In the external ids' order, whatever the posts' order: two batches
    -- sharing ids then take them in one order, and neither holds one the
    -- other waits on while it waits (a deadlock, undone only after
    -- deadlock_timeout). A repeat within the batch: its first post wins.
    INSERT INTO posts (id, external_id, provider_key_id, account_ids, content, media,
                       scheduled_at, time_zone)
    OVERRIDING SYSTEM VALUE
    SELECT f.id, c.external_id, c.key_id, c.accounts, c.content, c.media, c.at, c.tz
      FROM fresh f
      JOIN checked c ON c.n = f.n
     ORDER BY c.external_id, f.n
    ON CONFLICT (external_id) DO NOTHING
    RETURNING id
)
SELECT (SELECT json_object_agg(g.field, g.reason)
          FROM (SELECT split_part(e, E'\t', 1) AS field,
                       string_agg(substr(e, strpos(e, E'\t') + 1), '; ') AS reason
                  FROM unnest(c.errs) AS e GROUP BY 1) g) AS details,
       c.key_id, c.at, c.tz, c.existing_id, coalesce(c.same, false) AS same, c.differs,
       coalesce(c.at < now(), false) AS past, m.id AS created, c.n
  FROM checked c
  LEFT JOIN fresh f ON f.n = c.n
  LEFT JOIN made m ON m.id = f.id
 ORDER BY c.n
