/*
 * DESIGN: one connection, one transaction, driven from the command's main
 * thread. Binary COPY (src/import/row.c) is batched into ~16 KiB messages (PQputCopyData in
 * blocking mode, so a slow server slows the reader down instead of growing
 * a buffer). Small on purpose: the server reads a whole CopyData message
 * before it parses any of it, and one bigger than the socket's buffer
 * (~208 KiB for a Linux unix socket) can never wait there whole, so the
 * reader and the server took turns instead of working at once (256 KiB
 * messages: 11-12 s of streaming for 1,000,000 rows; 16 KiB: 6.6-7.3 s).
 * The error report runs in single-row mode, so a file with a million bad
 * rows is printed without holding a million rows in memory.
 * Query texts are sql/import_*.sql.
 */
#include "import/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

#define COPY_BATCH (16 * 1024)

static int exec_ok(struct imp_db *db, const char *name, char *err, size_t errlen)
{
    PGresult *r = db_exec(db->conn, name, 0, NULL, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

static int start_copy(struct imp_db *db, char *err, size_t errlen)
{
    PGresult *r = PQexec(db->conn, db_sql("import_stage_copy"));
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok)
        db_error(db->conn, r, err, errlen);
    PQclear(r);
    db->copying = ok;
    if (ok)
        imp_copy_header(&db->out);
    return ok ? 0 : -1;
}

int imp_db_open(struct imp_db *db, const char *conninfo, char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    db->conn = db_connect(conninfo, err, errlen);
    if (!db->conn)
        return -1;
    if (db_simple(db->conn, "BEGIN", err, errlen) != 0)
        return -1;
    db->in_tx = 1;
    if (exec_ok(db, "import_tune", err, errlen) != 0 ||
        exec_ok(db, "import_stage_create", err, errlen) != 0)
        return -1;
    return start_copy(db, err, errlen);
}

static int flush(struct imp_db *db, char *err, size_t errlen)
{
    if (db->out.len == 0)
        return 0;
    if (PQputCopyData(db->conn, db->out.p, (int)db->out.len) != 1) {
        db_error(db->conn, NULL, err, errlen);
        return -1;
    }
    db->out.len = 0;
    return 0;
}

int imp_db_put(struct imp_db *db, const struct imp_row *row, char *err, size_t errlen)
{
    imp_row_copy_line(row, &db->out);
    return db->out.len >= COPY_BATCH ? flush(db, err, errlen) : 0;
}

int imp_db_end_copy(struct imp_db *db, const char *abort_msg, char *err, size_t errlen)
{
    if (!db->copying)
        return -1;
    db->copying = 0;
    if (!abort_msg)
        imp_copy_trailer(&db->out);
    if (!abort_msg && flush(db, err, errlen) != 0)
        abort_msg = "import stopped";
    if (PQputCopyEnd(db->conn, abort_msg) != 1) {
        db_error(db->conn, NULL, err, errlen);
        return -1;
    }
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
            db_error(db->conn, r, err, errlen);
            rc = -1;
        }
        PQclear(r);
    }
    return abort_msg ? -1 : rc;
}

int imp_db_check(struct imp_db *db, int find_twins, int catchup_ms, struct imp_counts *n, char *err,
                 size_t errlen)
{
    if (exec_ok(db, "import_stage_analyze", err, errlen) != 0)
        return -1;
    const char *twins[] = {find_twins ? "true" : "false"};
    PGresult *r = db_exec(db->conn, "import_check", 1, twins, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    char catchup[16];
    snprintf(catchup, sizeof catchup, "%d", catchup_ms);
    const char *params[] = {catchup};
    r = db_exec(db->conn, "import_counts", 1, params, err, errlen);
    if (!r)
        return -1;
    n->refused = atol(PQgetvalue(r, 0, 0));
    n->present = atol(PQgetvalue(r, 0, 1));
    n->fresh = atol(PQgetvalue(r, 0, 2));
    n->late = atol(PQgetvalue(r, 0, 3));
    n->late_line = atol(PQgetvalue(r, 0, 4));
    n->expire = atol(PQgetvalue(r, 0, 5));
    n->expire_line = atol(PQgetvalue(r, 0, 6));
    PQclear(r);
    return 0;
}

/* Reads single-row results until the end; returns 0 or -1 with err. */
static int read_rows(struct imp_db *db, imp_error_fn fn, void *arg, char *err, size_t errlen)
{
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(db->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE)
            fn(arg, atol(PQgetvalue(r, 0, 0)), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
        else if (st != PGRES_TUPLES_OK && rc == 0) {
            db_error(db->conn, r, err, errlen);
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

int imp_db_report(struct imp_db *db, imp_error_fn fn, void *arg, char *err, size_t errlen)
{
    /* The text is sql/import_errors.sql; single-row mode needs the async API. */
    if (!PQsendQueryParams(db->conn, db_sql("import_errors"), 0, NULL, NULL, NULL, NULL, 0) ||
        !PQsetSingleRowMode(db->conn)) {
        db_error(db->conn, NULL, err, errlen);
        return -1;
    }
    return read_rows(db, fn, arg, err, errlen);
}

/* Whether r failed on a post's external_id that another writer added since the check. */
static int lost_race(const PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    return state && strcmp(state, "23505") == 0 && constraint &&
           strcmp(constraint, "posts_external_id_key") == 0;
}

int imp_db_insert(struct imp_db *db, long *inserted, char *err, size_t errlen)
{
    /* sql/import_insert.sql under a savepoint; the race's variant if it loses one. */
    if (db_simple(db->conn, "SAVEPOINT import_insert", err, errlen) != 0)
        return -1;
    const char *name = "import_insert";
    PGresult *r = PQexecParams(db->conn, db_sql(name), 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_FATAL_ERROR && lost_race(r)) {
        PQclear(r);
        if (db_simple(db->conn, "ROLLBACK TO SAVEPOINT import_insert", err, errlen) != 0)
            return -1;
        name = "import_insert_race";
        r = PQexecParams(db->conn, db_sql(name), 0, NULL, NULL, NULL, NULL, 0);
    }
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        db_error(db->conn, r, err, errlen);
        PQclear(r);
        return -1;
    }
    *inserted = atol(PQcmdTuples(r));
    PQclear(r);
    return db_simple(db->conn, "RELEASE SAVEPOINT import_insert", err, errlen);
}

int imp_db_commit(struct imp_db *db, char *err, size_t errlen)
{
    db->in_tx = 0;
    PGresult *r = PQexec(db->conn, "COMMIT");
    /* A failed transaction answers COMMIT with a ROLLBACK tag, not an error. */
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!ok) {
        db_error(db->conn, r, err, errlen);
        if (!*err)
            snprintf(err, errlen, "the transaction was rolled back");
    }
    PQclear(r);
    return ok ? 0 : -1;
}

void imp_db_close(struct imp_db *db)
{
    if (!db->conn)
        return;
    if (db->copying) {
        char err[256];
        (void)imp_db_end_copy(db, "import abandoned", err, sizeof err);
    }
    if (db->in_tx)
        db_rollback(db->conn);
    PQfinish(db->conn);
    imp_buf_free(&db->out);
    db->conn = NULL;
}
