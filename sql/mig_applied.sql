-- Every applied migration, oldest first; NULL table means no schema at all.
SELECT version, name, checksum
  FROM schema_migrations
 ORDER BY version;
