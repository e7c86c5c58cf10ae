-- import: statistics for the staging table (temporary tables are never auto-analyzed),
-- so the checks join it the right way round. Only the columns the checks
-- join or group on: sampling the contents too cost more than the joins gained.
ANALYZE import_stage (external_id, provider_key, time_zone)
