-- import: statistics for the staging table (temporary tables are never auto-analyzed),
-- so the checks join it the right way round.
ANALYZE import_stage
