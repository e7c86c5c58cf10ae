/*
 * pgtest: test support for integration tests. The ctest fixture `pg` starts
 * one private cluster per run (deploy/pg-private.sh); each test gets its own
 * fresh database in it.
 */
#ifndef POSTPACE_TESTS_PGTEST_H
#define POSTPACE_TESTS_PGTEST_H

#include <libpq-fe.h>

/* Conninfo of the cluster's maintenance database (PGTEST_URL or the fixture's file). */
const char *pgt_cluster(void);

/* Creates an empty database and returns its conninfo (heap; free with pgt_drop_db). */
char *pgt_create_db(void);

/* Creates a database with every built-in migration applied. */
char *pgt_create_migrated_db(void);

/* Drops the database and frees the conninfo. */
void pgt_drop_db(char *conninfo);

/* Connects or fails the test. */
PGconn *pgt_connect(const char *conninfo);

/* Runs a statement that must succeed (test set-up); aborts the test otherwise. */
void pgt_exec(PGconn *c, const char *sql);

/* Runs a statement with parameters; returns the SQLSTATE ("00000" on success). */
const char *pgt_try(PGconn *c, const char *sql, int n, const char *const *params);

/* Polls `sql` (one integer) every 20 ms until it is above zero; returns 1
 * then, 0 after 30 s. For waiting on another session's state. */
int pgt_await(PGconn *c, const char *sql);

/* Path of the built postpace binary (for CLI tests), or PGTEST_POSTPACE_BIN
 * when set: a benchmark measuring another build (pgt_create_migrated_db then
 * migrates with that build's `postpace migrate`, so its schema is its own). */
const char *pgt_postpace_bin(void);

#endif
