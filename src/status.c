/* DESIGN: a one-shot command on the main thread; one query, one table. */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/log.h"

static void print_row(PGresult *r, int i)
{
    printf("%-6s %-15s %-16s %-22s %9s %7s %10s %9s %11s %9s %7s %6ss\n", PQgetvalue(r, i, 0),
           PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
           PQgetvalue(r, i, 5), PQgetvalue(r, i, 6), PQgetvalue(r, i, 7), PQgetvalue(r, i, 8),
           PQgetvalue(r, i, 9), PQgetvalue(r, i, 10), PQgetvalue(r, i, 11));
}

int cmd_status(struct config *cfg, int argc, char **argv)
{
    if (argc > 0) {
        fprintf(stderr, "postpace: status: unexpected argument \"%s\" (see `postpace help`)\n",
                argv[0]);
        return 2;
    }
    char err[512], q[600];
    PGconn *c = db_connect(cfg->database_url, err, sizeof err);
    if (!c) {
        log_error("cannot connect to the database", "reason=%s", log_quote(err, q, sizeof q));
        return 1;
    }
    PGresult *r = db_exec(c, "status_keys", 0, NULL, err, sizeof err);
    if (!r) {
        log_error("status failed", "reason=%s", log_quote(err, q, sizeof q));
        PQfinish(c);
        return 1;
    }
    printf("%-6s %-15s %-16s %-22s %9s %7s %10s %9s %11s %9s %7s %7s\n", "KEY", "PROVIDER", "LABEL",
           "LEASE", "SCHEDULED", "DUE", "PUBLISHING", "SUBMITTED", "UNCONFIRMED", "PUBLISHED",
           "FAILED", "LAG");
    for (int i = 0; i < PQntuples(r); i++)
        print_row(r, i);
    PQclear(r);
    PQfinish(c);
    return 0;
}
