-- api: $1 new post ids, taken from the posts' identity sequence, for a
-- batch insert (api_posts_insert) that must know which id is whose.
SELECT nextval(pg_get_serial_sequence('posts', 'id')) FROM generate_series(1, $1::integer)
