/*
 * migrate: applies migrations/NNNN_name.sql in order, each in its own
 * transaction, and records them in schema_migrations (version, name,
 * checksum, applied_at). Migrators are serialised by an advisory lock.
 */
#ifndef POSTPACE_DB_MIGRATE_H
#define POSTPACE_DB_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

struct mig_file {
    char version[5];    /* "0001" */
    const char *name;   /* "baseline" (points into the file name) */
    const char *text;   /* the SQL */
    char checksum[65];  /* SHA-256 of text, hex */
};

/* The migrations built into this binary, in order. Static storage. */
const struct mig_file *mig_builtin(size_t *count);

/*
 * Fills a mig_file from a file name "NNNN_name" and its text. Returns 0, or
 * -1 if the name does not have that form.
 */
int mig_file_init(struct mig_file *m, const char *file_name, const char *text);

/*
 * Applies the files not yet applied. An applied file whose checksum differs
 * stops everything with an error naming it. Returns the number applied, or
 * -1 with a one-line reason in err. `applied_cb`, if set, is told each one.
 */
int mig_apply(PGconn *c, const struct mig_file *files, size_t n,
              void (*applied_cb)(const struct mig_file *), char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Checks that the database has every file applied with matching checksums.
 * Returns 0 when current, or -1 with a reason naming the first missing or
 * changed migration.
 */
int mig_check(PGconn *c, const struct mig_file *files, size_t n, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
