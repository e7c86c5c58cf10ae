-- api: which keys an operator paused (GET /v1/limits adds it to each key, so
-- the web page offers pause or resume). No parameters. Each row: key id,
-- paused (boolean).
SELECT id, paused_at IS NOT NULL FROM provider_keys
