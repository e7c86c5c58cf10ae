/*
 * stage (import module): the database side of one import, all in one
 * transaction on one connection: staging table, COPY of the rows, the
 * set-wise check, the report of refused rows, the insert. Nothing is
 * visible to anyone until imp_db_commit; imp_db_close without it rolls
 * everything back (as does the connection dropping if the process dies).
 */
#ifndef POSTPACE_IMPORT_STAGE_H
#define POSTPACE_IMPORT_STAGE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "import/row.h"

struct imp_db {
    PGconn *conn;
    struct imp_buf out; /* COPY text not sent yet */
    int copying;        /* inside COPY FROM STDIN */
    int in_tx;
};

/* How the checked rows split. */
struct imp_counts {
    long refused; /* rows with at least one error */
    long present; /* good rows already in the calendar, identical */
    long fresh;   /* good rows to insert */
    long late, late_line;     /* of these, scheduled in the past within the catch-up
                                 window (sent at once), and the first one's line */
    long expire, expire_line; /* scheduled beyond it (their targets expire unsent) */
};

/* Connects, opens the transaction and the staging COPY. 0, or -1 with err. */
int imp_db_open(struct imp_db *db, const char *conninfo, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Queues one row (sent in batches). 0, or -1 with err. */
int imp_db_put(struct imp_db *db, const struct imp_row *row, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Ends the COPY; abort_msg non-NULL makes it fail on purpose (the result is
 * then -1 and may be ignored). 0, or -1 with err.
 */
int imp_db_end_copy(struct imp_db *db, const char *abort_msg, char *err, size_t errlen);

/*
 * Runs the checks over every staged row; find_twins: the reader could not
 * name every repeated external_id (its ids set was full), so SQL looks for
 * them; catchup_ms sorts the past ones. 0, or -1 with err.
 */
int imp_db_check(struct imp_db *db, int find_twins, int catchup_ms, struct imp_counts *n, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* Called once per error, in line order, then column order. */
typedef void (*imp_error_fn)(void *arg, long line, const char *column, const char *reason);

/* Streams every error of the checked rows to fn (row by row, never all in memory). */
int imp_db_report(struct imp_db *db, imp_error_fn fn, void *arg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Inserts the good rows that are not present; *inserted gets the count. */
int imp_db_insert(struct imp_db *db, long *inserted, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Commits. 0, or -1 with err (then nothing was written). */
int imp_db_commit(struct imp_db *db, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Rolls back whatever is open and disconnects; close of a closed db is a no-op. */
void imp_db_close(struct imp_db *db);

#endif
