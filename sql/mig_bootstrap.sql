-- The ledger of applied migrations; created by the first `postpace migrate`.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY CHECK (version ~ '^[0-9]{4}$'),
    name       text NOT NULL,
    checksum   text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    applied_at timestamptz NOT NULL DEFAULT now()
);
