/*
 * DESIGN: used by test programs only, from their main thread.
 */
#include "pgtest.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/migrate.h"
#include "proc.h"
#include "util/xmalloc.h"

const char *pgt_cluster(void)
{
    static char url[1024];
    if (*url)
        return url;
    const char *env = getenv("PGTEST_URL");
    if (env && *env) {
        snprintf(url, sizeof url, "%s", env);
        return url;
    }
    FILE *f = fopen(PGTEST_URL_FILE, "r");
    if (!f || !fgets(url, sizeof url, f)) {
        fprintf(stderr,
                "pgtest: no cluster: set PGTEST_URL or run through ctest (fixture pg, %s)\n",
                PGTEST_URL_FILE);
        exit(1);
    }
    fclose(f);
    url[strcspn(url, "\n")] = '\0';
    return url;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

PGconn *pgt_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    PQsetNoticeProcessor(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgtest: connect: %s", PQerrorMessage(c));
        fail();
    }
    return c;
}

void pgt_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "pgtest: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    PQclear(r);
}

const char *pgt_try(PGconn *c, const char *sql, int n, const char *const *params)
{
    static char state[6];
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        strcpy(state, "00000");
    else
        snprintf(state, sizeof state, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
    PQclear(r);
    return state;
}

char *pgt_create_db(void)
{
    static int counter;
    char name[64];
    snprintf(name, sizeof name, "t_%d_%d", (int)getpid(), ++counter);
    PGconn *c = pgt_connect(pgt_cluster());
    char *sql = xasprintf("CREATE DATABASE %s TEMPLATE template0", name);
    pgt_exec(c, sql);
    free(sql);
    PQfinish(c);
    return xasprintf("%s dbname=%s", pgt_cluster(), name);
}

char *pgt_create_migrated_db(void)
{
    char *ci = pgt_create_db(), err[512];
    const char *other = getenv("PGTEST_POSTPACE_BIN");
    if (other && *other) {
        /* Another build's schema, by its own `postpace migrate`. */
        struct proc *p = xcalloc(1, sizeof *p);
        char *env = xasprintf("DATABASE_URL=%s", ci);
        char *argv[] = {(char *)other, "migrate", NULL}, *envs[] = {env, NULL};
        int rc = proc_run(p, argv, envs);
        if (rc != 0)
            fprintf(stderr, "pgtest: %s migrate: exit %d\n%s\n", other, rc, p->out);
        free(env), free(p);
        if (rc != 0)
            fail();
        return ci;
    }
    PGconn *c = pgt_connect(ci);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    if (mig_apply(c, files, n, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "pgtest: migrate: %s\n", err);
        fail();
    }
    PQfinish(c);
    return ci;
}

void pgt_drop_db(char *conninfo)
{
    if (!conninfo)
        return;
    const char *name = strrchr(conninfo, '=') + 1;
    PGconn *c = pgt_connect(pgt_cluster());
    char *sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pgt_exec(c, sql);
    free(sql);
    PQfinish(c);
    free(conninfo);
}

const char *pgt_postpace_bin(void)
{
    const char *other = getenv("PGTEST_POSTPACE_BIN");
    return other && *other ? other : POSTPACE_BIN;
}

int pgt_await(PGconn *c, const char *sql)
{
    for (int i = 0; i < 1500; i++) {
        PGresult *r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        long n = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (n > 0)
            return 1;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}
