-- Changes whenever a provider, key or limit row does.
SELECT md5(concat_ws('|',
    (SELECT string_agg(p::text, ',' ORDER BY p.id) FROM providers p),
    (SELECT string_agg(k::text, ',' ORDER BY k.id) FROM provider_keys k),
    (SELECT string_agg(l::text, ',' ORDER BY l.id) FROM rate_limits l)));
