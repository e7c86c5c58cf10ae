-- import: validates every staged row in one statement and keeps the verdict
-- in import_checked: the typed values a row would be inserted with, and
-- `errors`, its "column<TAB>reason" entries (the reader's first, then these),
-- empty when the row is good. `present`: the very same post is already in
-- the calendar (a re-import: not an error, nothing to insert).
-- The staging table is typed (the reader sends binary COPY), and AT TIME
-- ZONE only ever sees a zone postpace_is_time_zone accepted.
-- Column bits of import_stage.bad: external_id 1, provider_key 2,
-- account_ids 4, content 8, media 16, scheduled_at 32, time_zone 64.
CREATE TEMP TABLE import_checked ON COMMIT DROP AS
WITH pairs AS MATERIALIZED (
    -- One pass over the rows for what keys and zones need: each pair of
    -- provider_key and time_zone once, with the first and last local time
    -- of its rows (a file names few keys and zones, so this is small).
    SELECT provider_key, time_zone,
           min(sched_local) FILTER (WHERE sched_offset IS NULL) AS first,
           max(sched_local) FILTER (WHERE sched_offset IS NULL) AS last
      FROM import_stage
     GROUP BY provider_key, time_zone
), keys AS (
    -- Each distinct provider_key once: a key id, else a label naming exactly one key.
    SELECT d.provider_key, m.key_id, m.matches, p.id AS provider, p.max_content_len,
           p.max_media, p.max_media_bytes, p.media_types
      FROM (SELECT DISTINCT provider_key FROM pairs WHERE provider_key <> '') d
     CROSS JOIN LATERAL postpace_key_lookup(d.provider_key) m
      LEFT JOIN provider_keys pk ON pk.id = m.key_id
      LEFT JOIN providers p ON p.id = pk.provider
), zones AS (
    -- Each distinct zone checked once (the reader staged each row's zone
    -- trimmed, UTC when blank, and NULL when it refused it). `shaky`: the
    -- local dates, between the zone's first and last local time in the
    -- file, on which its offset may change (their rows get the DST check
    -- below; no other row can be near a change); NULL when not worked out
    -- (over ten years apart: every row gets the check). A date is shaky if
    -- the offset differs anywhere among three instants spanning every
    -- instant its local times can be (offsets reach +/-15 h), 3 hours wider.
    SELECT z.time_zone AS tz, z.ok,
           CASE WHEN z.ok AND z.last - z.first <= 3660 THEN ARRAY(
               SELECT d.day
                 FROM (SELECT z.first + i AS day,
                              ((z.first + i)::timestamp AT TIME ZONE 'UTC') - interval '18 hours' AS a
                         FROM generate_series(0, z.last - z.first) i) d
                WHERE (d.a AT TIME ZONE z.time_zone) - (d.a AT TIME ZONE 'UTC')
                          <> ((d.a + interval '30 hours') AT TIME ZONE z.time_zone)
                             - ((d.a + interval '30 hours') AT TIME ZONE 'UTC')
                   OR ((d.a + interval '30 hours') AT TIME ZONE z.time_zone)
                          - ((d.a + interval '30 hours') AT TIME ZONE 'UTC')
                          <> ((d.a + interval '60 hours') AT TIME ZONE z.time_zone)
                             - ((d.a + interval '60 hours') AT TIME ZONE 'UTC')) END AS shaky
      FROM (SELECT y.time_zone, postpace_is_time_zone(y.time_zone) AS ok,
                   y.first::date AS first, y.last::date AS last
              FROM (SELECT time_zone, min(first) AS first, max(last) AS last
                      FROM pairs
                     WHERE time_zone IS NOT NULL
                     GROUP BY time_zone) y) z
), twins AS (
    -- External ids given more than once, with the first line of each, when
    -- the reader could not remember every id itself ($1; else it staged
    -- twin_of, src/import/ids.c, and this is empty without reading a row).
    -- Most files have none: a hash aggregate of the ids alone.
    SELECT external_id, min(line) AS first_line
      FROM import_stage
     WHERE $1::boolean AND external_id IS NOT NULL
     GROUP BY external_id
    HAVING count(*) > 1
), typed AS (
    SELECT s.line, s.broken, s.bad, s.errors AS reader_errors, s.external_id, s.provider_key,
           k.key_id, k.matches, k.provider, k.max_content_len, k.max_media, k.max_media_bytes,
           k.media_types, s.account_ids AS accounts, s.accounts_twice, s.content,
           s.media_look, s.media_bytes, s.media_types AS media_types_used,
           coalesce(s.media, '[]'::jsonb) AS media, s.sched_local AS local,
           s.sched_offset, s.time_zone AS tz, z.ok AS tz_ok, z.shaky,
           CASE WHEN s.sched_offset IS NOT NULL THEN (s.sched_local - s.sched_offset) AT TIME ZONE 'UTC'
                WHEN z.ok THEN s.sched_local AT TIME ZONE s.time_zone END AS at,
           coalesce(s.twin_of, t.first_line) AS first_line
      FROM import_stage s
      LEFT JOIN keys k ON k.provider_key = s.provider_key
      LEFT JOIN zones z ON z.tz = s.time_zone
      LEFT JOIN twins t ON t.external_id = s.external_id
    -- OFFSET 0 keeps this a subquery of its own: each conversion above runs
    -- once a row, not once for every place below that reads it.
    OFFSET 0
), verdict AS (
    SELECT d.*, p.id AS existing_id,
           p.id IS NOT NULL AND p.provider_key_id = d.key_id AND p.account_ids = d.accounts
               AND p.content = d.content AND p.media = d.media AND p.scheduled_at = d.at
               AND p.time_zone = d.tz AS same,
           CASE WHEN p.id IS NOT NULL THEN concat_ws(', ',
               CASE WHEN p.provider_key_id IS DISTINCT FROM d.key_id THEN 'provider_key' END,
               CASE WHEN p.account_ids IS DISTINCT FROM d.accounts THEN 'account_ids' END,
               CASE WHEN p.content IS DISTINCT FROM d.content THEN 'content' END,
               CASE WHEN p.media IS DISTINCT FROM d.media THEN 'media' END,
               CASE WHEN p.scheduled_at IS DISTINCT FROM d.at THEN 'scheduled_at' END,
               CASE WHEN p.time_zone IS DISTINCT FROM d.tz THEN 'time_zone' END) END AS differs
      FROM typed d
      LEFT JOIN posts p ON p.external_id = d.external_id
)
-- What import_counts and import_errors read comes first: a scan that needs
-- only these stops taking each row apart before its content and media.
SELECT v.line, coalesce(v.same, false) AS present, v.at AS scheduled_at,
       coalesce(string_to_array(v.reader_errors, E'\n'), '{}') || CASE WHEN v.broken THEN '{}'::text[] ELSE array_remove(ARRAY[
           -- The rules a row decides alone (required, blank, too long, too many
           -- accounts, an empty account id) are the reader's (src/import/row.c,
           -- row_rules); these need the whole file or the database.
           -- external_id
           CASE WHEN v.first_line <> v.line THEN
               format(E'external_id\t"%s" is also on line %s', v.external_id, v.first_line) END,
           CASE WHEN v.existing_id IS NOT NULL AND NOT v.same THEN
               format(E'external_id\t"%s" is already in the calendar (post %s) with a different %s',
                      v.external_id, v.existing_id, v.differs) END,
           -- provider_key
           CASE WHEN v.matches = 0 THEN
               format(E'provider_key\tunknown key "%s" (neither a key id nor a label in provider_keys)', v.provider_key) END,
           CASE WHEN v.key_id IS NULL AND v.matches > 1 THEN
               format(E'provider_key\tthe label "%s" names %s keys: give the key id', v.provider_key, v.matches) END,
           -- account_ids
           CASE WHEN v.accounts_twice AND cardinality(v.accounts) > 1 THEN
               (SELECT format(E'account_ids\t"%s" appears twice', a)
                  FROM unnest(v.accounts) AS a WHERE a <> '' GROUP BY a HAVING count(*) > 1 ORDER BY a LIMIT 1) END,
           -- content
           -- IS NOT NULL first: with no limit, octet_length > NULL is NULL, and AND
           -- goes on to count the characters of every post for nothing.
           CASE WHEN v.max_content_len IS NOT NULL AND octet_length(v.content) > v.max_content_len
                     AND length(v.content) > v.max_content_len THEN
               format(E'content\t%s characters, %s allows %s', length(v.content), v.provider, v.max_content_len) END,
           -- media (media_look is NULL exactly when no media was staged, and
           -- no media, '[]', breaks no rule: most rows skip the JSON tests)
           CASE WHEN v.media_look IS NOT NULL AND jsonb_typeof(v.media) <> 'array' THEN
               E'media\tmust be a JSON array of {"url","mime_type","size_bytes"} objects' END,
           CASE WHEN v.media_look IS NOT NULL AND jsonb_typeof(v.media) = 'array'
                     AND jsonb_array_length(v.media) > v.max_media THEN
               format(E'media\t%s files, %s allows %s', jsonb_array_length(v.media), v.provider, v.max_media) END,
           -- Files read one by one only when the reader's summary says one is wrong.
           CASE WHEN v.media_look IS NOT NULL AND jsonb_typeof(v.media) = 'array'
                     AND jsonb_array_length(v.media) > 0
                     AND (v.media_look OR v.media_bytes > v.max_media_bytes
                          OR NOT v.media_types_used <@ v.media_types) THEN
               (SELECT 'media' || E'\t' || format('file %s: %s', m.n, m.why)
                  FROM (SELECT i.n, CASE
                          WHEN jsonb_typeof(i.item) <> 'object' THEN 'must be an object {"url","mime_type","size_bytes"}'
                          WHEN jsonb_typeof(i.item -> 'url') IS DISTINCT FROM 'string' OR i.item ->> 'url' = '' THEN
                              'url must be a non-empty string'
                          WHEN jsonb_typeof(i.item -> 'mime_type') IS DISTINCT FROM 'string' THEN 'mime_type must be a string'
                          WHEN jsonb_typeof(i.item -> 'size_bytes') IS DISTINCT FROM 'number'
                               OR (i.item ->> 'size_bytes') !~ '^[0-9]+$' THEN 'size_bytes must be a whole number of bytes'
                          WHEN (i.item ->> 'size_bytes')::numeric > v.max_media_bytes THEN
                              format('%s bytes, %s allows %s', i.item ->> 'size_bytes', v.provider, v.max_media_bytes)
                          WHEN NOT (i.item ->> 'mime_type' = ANY (v.media_types)) THEN
                              format('type %s is not allowed by %s (allowed: %s)', i.item ->> 'mime_type', v.provider,
                                     array_to_string(v.media_types, ', '))
                          END AS why
                          FROM jsonb_array_elements(v.media) WITH ORDINALITY AS i(item, n)) m
                 WHERE m.why IS NOT NULL ORDER BY m.n LIMIT 1) END,
           -- scheduled_at
           -- postpace_dst_problem answers NULL unless the time is in a gap or its
           -- zone's offset 3 hours before and after differs: asked only then.
           CASE WHEN v.sched_offset IS NULL AND v.tz_ok
                     AND (v.shaky IS NULL OR v.local::date = ANY (v.shaky))
                     AND ((v.at AT TIME ZONE v.tz) <> v.local
                          OR ((v.at - interval '3 hours') AT TIME ZONE v.tz)
                             - ((v.at + interval '3 hours') AT TIME ZONE v.tz) <> interval '-6 hours') THEN
               E'scheduled_at\t' || postpace_dst_problem(v.local, v.tz) END,
           -- time_zone
           CASE WHEN v.tz IS NOT NULL AND NOT v.tz_ok THEN
               format(E'time_zone\tunknown time zone "%s" (want an IANA name such as Europe/Paris)', v.tz) END
       ], NULL) END AS errors,
       v.external_id, v.key_id, v.accounts, v.content, v.media, v.tz AS time_zone
  FROM verdict v
