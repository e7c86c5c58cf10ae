/*
 * db: libpq connections and every query the daemon runs. Query texts live in
 * sql/NAME.sql and are referred to by NAME; parameters always travel
 * separately from the text (PQexecParams), never spliced into it.
 */
#ifndef POSTPACE_DB_H
#define POSTPACE_DB_H

#include <libpq-fe.h>
#include <stddef.h>

/* The text of sql/NAME.sql. Aborts on an unknown name (a programming error). */
const char *db_sql(const char *name);

/* connect_timeout when the connection string names none (seconds). */
#define DB_CONNECT_TIMEOUT_S "10"

/*
 * Opens a connection. On failure returns NULL and a one-line reason in err
 * that shows nothing of a secret: a string libpq cannot parse gets a fixed
 * sentence naming the kind of problem (libpq's own quotes the string), and
 * libpq's connection error has the whole string and every secret option
 * (password, sslpassword) replaced by ***. Registers those, and the password
 * as written, with log_secret_add. Notices are ignored from the first byte
 * (libpq's default prints them on stderr). Waits at most connect_timeout
 * (DB_CONNECT_TIMEOUT_S unless the string names one) in all.
 */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * db_connect for a one-shot command (`migrate`, `status`): on failure logs
 * "cannot connect to the database" with the reason and returns NULL; the
 * exit code is the caller's.
 */
PGconn *db_connect_logged(const char *conninfo) __attribute__((warn_unused_result));

/*
 * Runs sql/NAME.sql with `n` text parameters (NULL entries are SQL NULL).
 * Returns the result, which the caller PQclear()s, or NULL with the server's
 * message in err when the statement failed.
 */
PGresult *db_exec(PGconn *c, const char *name, int n, const char *const *params, char *err,
                  size_t errlen) __attribute__((warn_unused_result));

/*
 * Whether named prepared statements are used (process-wide; default on).
 * Off for connections through a transaction-mode pooler that cannot carry
 * them (PgBouncer before 1.21): db_prepare_all then prepares nothing and
 * db_exec_prepared sends each statement's text unnamed, which needs no
 * session state. Set once at start, before any thread connects.
 */
void db_use_prepared(int on);

/*
 * Prepares each sql/NAME.sql of the NULL-terminated `names` (NULL: none)
 * under its NAME, parameter types taken from the text's casts: parsed and
 * planned once per connection. 0, or -1 with the server's message in err.
 */
int db_prepare_all(PGconn *c, const char *const *names, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Runs sql/NAME.sql, prepared on `c` by db_prepare_all, with PQexecPrepared's
 * arguments; with prepared statements off, the same text unnamed through
 * PQexecParams (types again from the casts). The caller PQclear()s.
 */
PGresult *db_exec_prepared(PGconn *c, const char *name, int n, const char *const *params,
                           const int *lengths, const int *formats, int result_format)
    __attribute__((warn_unused_result));

/*
 * As db_exec, for a statement that db_prepare_all prepared on `c` (sent
 * unnamed when prepared statements are off): the result, which the caller
 * PQclear()s, or NULL with the server's message in err. Preparing once per
 * connection saves planning each run (milliseconds for api_post_check,
 * more than its execution).
 */
PGresult *db_exec_named(PGconn *c, const char *name, int n, const char *const *params, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/*
 * Opens a transaction whose statements plan with index probes and nested
 * loops only (enable_seqscan, enable_hashjoin and enable_mergejoin off for
 * the transaction); with async_commit, synchronous_commit is off too. For
 * transactions that touch a few hundred rows by id out of millions, given
 * as arrays: the planner prices a scan of the whole table and a hash join
 * below index probes once the arrays pass a few hundred ids (a fully
 * cached table makes probes far cheaper than it assumes). jit is off too:
 * a plan that must keep a seq scan (no index serves it) is priced with
 * enable_seqscan's penalty, far above jit_above_cost, and JIT would then
 * compile it at every execution (~1 s, seen on an API batch). 0, or -1
 * with err.
 */
int db_begin_index_only(PGconn *c, int async_commit, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Runs a parameterless utility statement (BEGIN, COMMIT, ROLLBACK). */
int db_simple(PGconn *c, const char *stmt, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Encodes n values as a PostgreSQL array literal for a text[] parameter
 * ({"a","b\"c",NULL}); NULL entries become SQL NULL. The caller frees it.
 */
char *db_text_array(const char *const *vals, size_t n);

/*
 * The same array in PostgreSQL's binary format, for a text[] parameter sent
 * with format 1: lengths instead of quotes and escapes, so the server copies
 * each value instead of parsing it (array_in was ~3% of webhook intake's
 * database CPU, its payloads being JSON full of quotes). Sets *len to the
 * size; the caller frees it.
 */
char *db_text_array_binary(const char *const *vals, size_t n, int *len);

/*
 * A column of text values growing one row at a time, sent as one array
 * parameter: set-based statements take their rows as parallel arrays.
 * Zero-initialise; db_col_take hands the literal over and empties it.
 */
struct db_column {
    char **v;
    size_t n, cap;
};

void db_col_push(struct db_column *c, const char *text); /* NULL is SQL NULL; copied */
void db_col_push_i64(struct db_column *c, long long v);
char *db_col_take(struct db_column *c); /* the array literal; the caller frees it */

/* Rolls back the open transaction, if any; failure is ignored (the connection may be gone). */
void db_rollback(PGconn *c);

/* Copies the server's message of `r` (or of the connection) into err. */
void db_error(PGconn *c, const PGresult *r, char *err, size_t errlen);

#endif
