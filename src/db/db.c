/*
 * DESIGN: thin helpers over libpq. Each thread owns its PGconn; nothing here
 * holds global state beyond the read-only embedded query table.
 */
#include "db/db.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/embedded.h"
#include "util/xmalloc.h"

const char *db_sql(const char *name)
{
    for (unsigned i = 0; i < emb_query_count; i++)
        if (strcmp(emb_queries[i].name, name) == 0)
            return emb_queries[i].text;
    fprintf(stderr, "level=fatal msg=\"unknown query\" name=%s\n", name);
    abort();
}

/* libpq messages end with a newline and may span lines: keep the first line. */
static void first_line(const char *msg, char *err, size_t errlen)
{
    size_t n = strcspn(msg, "\n");
    snprintf(err, errlen, "%.*s", (int)n, msg);
}

void db_error(PGconn *c, const PGresult *r, char *err, size_t errlen)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m)
        m = PQerrorMessage(c);
    first_line(m && *m ? m : "unknown database error", err, errlen);
}

static void ignore_notice(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

PGconn *db_connect(const char *conninfo, char *err, size_t errlen)
{
    /* A default connect_timeout first: the URL's own, if it has one, comes
     * later in the list and wins. Without one, a host that drops packets
     * holds a (re)connecting thread for the kernel's TCP timeout (minutes),
     * and a shutdown waits for it. */
    static const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {DB_CONNECT_TIMEOUT_S, conninfo ? conninfo : "", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        first_line(PQerrorMessage(c), err, errlen);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, ignore_notice, NULL);
    return c;
}

PGresult *db_exec(PGconn *c, const char *name, int n, const char *const *params, char *err,
                  size_t errlen)
{
    PGresult *r = PQexecParams(c, db_sql(name), n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    db_error(c, r, err, errlen);
    PQclear(r);
    return NULL;
}

static atomic_int use_prepared = 1;

void db_use_prepared(int on)
{
    atomic_store(&use_prepared, on != 0);
}

PGresult *db_exec_prepared(PGconn *c, const char *name, int n, const char *const *params,
                           const int *lengths, const int *formats, int result_format)
{
    if (atomic_load(&use_prepared))
        return PQexecPrepared(c, name, n, params, lengths, formats, result_format);
    return PQexecParams(c, db_sql(name), n, NULL, params, lengths, formats, result_format);
}

int db_prepare_all(PGconn *c, const char *const *names, char *err, size_t errlen)
{
    if (!atomic_load(&use_prepared))
        return 0;
    for (const char *const *name = names; name && *name; name++) {
        PGresult *r = PQprepare(c, *name, db_sql(*name), 0, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            db_error(c, r, err, errlen);
        PQclear(r);
        if (!ok)
            return -1;
    }
    return 0;
}

int db_simple(PGconn *c, const char *stmt, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, stmt);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        db_error(c, r, err, errlen);
    PQclear(r);
    return ok ? 0 : -1;
}

void db_rollback(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
}

char *db_text_array(const char *const *vals, size_t n)
{
    size_t cap = 2 + n * 3, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += vals[i] ? 2 * strlen(vals[i]) : 4;
    char *out = xmalloc(cap + 1);
    out[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            out[len++] = ',';
        if (!vals[i]) {
            memcpy(out + len, "NULL", 4);
            len += 4;
            continue;
        }
        out[len++] = '"';
        for (const char *p = vals[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                out[len++] = '\\';
            out[len++] = *p;
        }
        out[len++] = '"';
    }
    out[len++] = '}';
    out[len] = '\0';
    return out;
}

static char *put_u32(char *p, uint32_t v)
{
    v = htonl(v);
    memcpy(p, &v, 4);
    return p + 4;
}

char *db_text_array_binary(const char *const *vals, size_t n, int *len)
{
    enum { TEXT_OID = 25 };
    size_t cap = 20; /* ndim, flags, element type, one dimension's size and lower bound */
    int has_null = 0;
    for (size_t i = 0; i < n; i++) {
        cap += 4 + (vals[i] ? strlen(vals[i]) : 0);
        has_null |= !vals[i];
    }
    char *out = xmalloc(cap), *p = out;
    p = put_u32(p, n > 0);
    p = put_u32(p, (uint32_t)has_null);
    p = put_u32(p, TEXT_OID);
    if (n > 0) {
        p = put_u32(p, (uint32_t)n);
        p = put_u32(p, 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (!vals[i]) {
            p = put_u32(p, UINT32_MAX); /* -1: NULL */
            continue;
        }
        size_t l = strlen(vals[i]);
        p = put_u32(p, (uint32_t)l);
        memcpy(p, vals[i], l);
        p += l;
    }
    *len = (int)(p - out);
    return out;
}

void db_col_push(struct db_column *c, const char *text)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = text ? xstrdup(text) : NULL;
}

void db_col_push_i64(struct db_column *c, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    db_col_push(c, buf);
}

char *db_col_take(struct db_column *c)
{
    char *text = db_text_array((const char *const *)c->v, c->n);
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c->v);
    memset(c, 0, sizeof *c);
    return text;
}
