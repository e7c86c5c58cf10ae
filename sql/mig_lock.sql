-- Serialises migrators: a transaction-scoped advisory lock, so it also works
-- behind a transaction-pooling PgBouncer. The key is 'postpace' as an int8.
SELECT pg_advisory_xact_lock(8101686450131657061);
