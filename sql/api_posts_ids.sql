-- api: $1 new post ids, taken from the posts' identity sequence, for a
-- batch insert (api_posts_insert) that must know which id is whose. The
-- sequence is looked up once, not per id.
SELECT nextval(s.seq)
  FROM (SELECT pg_get_serial_sequence('posts', 'id')::regclass AS seq) s,
       generate_series(1, $1::integer)
