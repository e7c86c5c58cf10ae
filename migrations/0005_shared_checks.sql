-- Rules shared by the importer and the API. First, local times: a local
-- wall-clock time in an IANA zone is refused when it falls in a
-- daylight-saving gap (it does not exist) or overlap (it exists twice),
-- never silently shifted. Returns the reason, or NULL when the time is fine.
-- How: the zone's UTC offsets 3 hours before and after the time; when they
-- differ a transition is near, and the time is checked against both.
CREATE FUNCTION postpace_dst_problem(local timestamp, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH t AS (
        SELECT local AT TIME ZONE tz AS at
    ), o AS (
        SELECT t.at,
               ((t.at - interval '3 hours') AT TIME ZONE tz) - ((t.at - interval '3 hours') AT TIME ZONE 'UTC') AS before,
               ((t.at + interval '3 hours') AT TIME ZONE tz) - ((t.at + interval '3 hours') AT TIME ZONE 'UTC') AS after
          FROM t
    )
    SELECT CASE
           WHEN (o.at AT TIME ZONE tz) <> local THEN
               format('%s does not exist in %s (a daylight-saving gap): give an offset or another time',
                      to_char(local, 'YYYY-MM-DD HH24:MI:SS'), tz)
           WHEN o.before <> o.after
                AND (((local - o.before) AT TIME ZONE 'UTC') AT TIME ZONE tz) = local
                AND (((local - o.after) AT TIME ZONE 'UTC') AT TIME ZONE tz) = local THEN
               format('%s happens twice in %s (a daylight-saving overlap): add its offset, %s or %s',
                      to_char(local, 'YYYY-MM-DD HH24:MI:SS'), tz,
                      CASE WHEN o.before >= interval '0' THEN '+' ELSE '' END || to_char(o.before, 'HH24:MI'),
                      CASE WHEN o.after >= interval '0' THEN '+' ELSE '' END || to_char(o.after, 'HH24:MI'))
           END
      FROM o
$$;

-- One rule for naming a key, shared by the importer and the API: a key id,
-- else a label naming exactly one key. `matches` counts the keys the text
-- could mean (0: unknown; more than 1: an ambiguous label).
CREATE FUNCTION postpace_key_lookup(ref text, OUT key_id bigint, OUT matches bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(min(k.id) FILTER (WHERE k.id::text = ref),
                    CASE WHEN count(*) = 1 THEN min(k.id) END),
           count(*)
      FROM provider_keys k
     WHERE k.id::text = ref OR k.label = ref
$$;
