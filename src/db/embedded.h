/*
 * embedded: the query texts of sql/ and the migrations of migrations/, built
 * into the binary by sql/embed_sql.cmake. Tables end with a {0, 0} row.
 */
#ifndef POSTPACE_DB_EMBEDDED_H
#define POSTPACE_DB_EMBEDDED_H

struct emb_sql {
    const char *name; /* file name without .sql */
    const char *text;
};

extern const struct emb_sql emb_queries[];
extern const unsigned emb_query_count;
extern const struct emb_sql emb_migrations[]; /* sorted by file name */
extern const unsigned emb_migration_count;

#endif
