/*
 * DESIGN: thin helpers over libpq. Each thread owns its PGconn; nothing here
 * holds global state beyond the read-only embedded query table.
 */
#include "db/db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db/embedded.h"
#include "util/log.h"
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

/* ---- connecting ---- */

/*
 * What a malformed connection string is told as: libpq's parse errors quote
 * the offending text (a password, or the whole URI), so only the class of
 * the problem, matched on libpq's wording, is shown.
 */
static const struct {
    const char *libpq, *ours;
} parse_errors[] = {
    {"percent-encoded", "a %-escape is not followed by two hex digits or decodes to a NUL"},
    {"unterminated quoted string", "a quoted value is not closed"},
    {"missing \"=\"", "a keyword is not followed by ="},
    {"invalid connection option", "it names an unknown option"},
    {"invalid URI query parameter", "it names an unknown URI query parameter"},
    {"\"]\"", "an IPv6 host address in [] is not closed"},
    {"IPv6 host address may not be empty", "an IPv6 host address in [] is empty"},
    {"key/value separator", "a URI query parameter is not key=value"},
    {"unexpected character", "a URI has an unexpected character after the host"},
    {"invalid URI", "it is not a valid postgresql:// URI"},
    {"out of memory", "out of memory"},
};

static void malformed(const char *libpq_msg, char *err, size_t errlen)
{
    const char *why = "libpq cannot parse it";
    for (size_t i = 0; libpq_msg && i < sizeof parse_errors / sizeof parse_errors[0]; i++)
        if (strstr(libpq_msg, parse_errors[i].libpq)) {
            why = parse_errors[i].ours;
            break;
        }
    snprintf(err, errlen, "the connection string is malformed: %s (it is not shown: it may hold a "
                          "password)", why);
}

/* The values a connection error must never show: options libpq marks secret ("*"). */
static size_t secret_values(PQconninfoOption *opts, const char **out, size_t max)
{
    size_t n = 0;
    for (PQconninfoOption *o = opts; o && o->keyword && n < max; o++)
        if (o->val && *o->val && o->dispchar && strchr(o->dispchar, '*'))
            out[n++] = o->val;
    return n;
}

/*
 * The password as written in a URL's user info or a password= keyword,
 * before any decoding (best effort; used when libpq cannot parse the
 * string, so the log registry still knows what to mask). Into buf.
 */
static const char *raw_password(const char *ci, char *buf, size_t size)
{
    const char *scheme = strstr(ci, "://"), *start = NULL, *end = NULL;
    if (scheme) {
        const char *at = strrchr(scheme + 3, '@'), *slash = strchr(scheme + 3, '/');
        if (at && slash && slash < at)
            at = NULL;
        const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
        start = colon ? colon + 1 : NULL, end = at;
    } else if ((start = strstr(ci, "password")) != NULL) {
        start += strspn(start + 8, " ") + 8;
        start = *start == '=' ? start + 1 + strspn(start + 1, " ") : NULL;
        end = start ? start + strcspn(start, " ") : NULL;
    }
    snprintf(buf, size, "%.*s", start ? (int)(end - start) : 0, start ? start : "");
    return buf;
}

/* Copies msg's first line into err with each of the n secrets replaced by ***. */
static void scrubbed(const char *msg, const char *const *secrets, size_t n, char *err,
                     size_t errlen)
{
    size_t o = 0;
    for (const char *p = msg; *p && *p != '\n' && o + 4 < errlen;) {
        size_t hit = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(secrets[i]);
            if (l > hit && strncmp(p, secrets[i], l) == 0)
                hit = l;
        }
        if (hit) {
            memcpy(err + o, "***", 3), o += 3, p += hit;
        } else {
            err[o++] = *p++;
        }
    }
    err[o] = '\0';
}

/* The connect_timeout in effect (seconds; 0: wait for ever, as libpq reads it). */
static int connect_timeout_s(PGconn *c)
{
    int t = atoi(DB_CONNECT_TIMEOUT_S);
    PQconninfoOption *opts = PQconninfo(c);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && *o->val)
            t = atoi(o->val);
    PQconninfoFree(opts);
    return t <= 0 ? 0 : t < 2 ? 2 : t;
}

/* Drives PQconnectPoll until the connection is up (0), fails (-1) or times out (-2). */
static int complete_connect(PGconn *c)
{
    int timeout_s = connect_timeout_s(c);
    uint64_t deadline = clk_mono_ms(clk_real) + (uint64_t)timeout_s * 1000;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            return -1;
        uint64_t now = clk_mono_ms(clk_real);
        if (timeout_s && now >= deadline)
            return -2;
        struct pollfd p = {PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
        int r = poll(&p, 1, timeout_s ? (int)(deadline - now) : -1);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0)
            st = PQconnectPoll(c);
    }
    return 0;
}

PGconn *db_connect(const char *conninfo, char *err, size_t errlen)
{
    /* A default connect_timeout first: the URL's own, if it has one, comes
     * later in the list and wins. Without one, a host that drops packets
     * holds a (re)connecting thread for the kernel's TCP timeout (minutes),
     * and a shutdown waits for it. */
    static const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *ci = conninfo ? conninfo : "";
    const char *vals[] = {DB_CONNECT_TIMEOUT_S, ci, NULL};
    char *perr = NULL, raw[512];
    log_secret_add(ci);
    log_secret_add(raw_password(ci, raw, sizeof raw));
    PQconninfoOption *opts = PQconninfoParse(ci, &perr);
    if (!opts) {
        malformed(perr, err, errlen);
        PQfreemem(perr);
        return NULL;
    }
    const char *secrets[8] = {ci, raw};
    size_t nsecrets = 2 + secret_values(opts, secrets + 2, 6);
    for (size_t i = 2; i < nsecrets; i++)
        log_secret_add(secrets[i]);
    /* Started asynchronously so that the notice processor is in place
     * before the server can say anything: libpq's default one prints
     * notices (a shutdown's WARNING, say) raw on stderr. */
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (c)
        PQsetNoticeProcessor(c, ignore_notice, NULL);
    int rc = !c || PQstatus(c) == CONNECTION_BAD ? -1 : complete_connect(c);
    if (rc != 0) {
        const char *m = rc == -2 ? "timeout expired" : c ? PQerrorMessage(c) : NULL;
        scrubbed(m && *m ? m : "cannot connect", secrets, nsecrets, err, errlen);
        PQfinish(c);
        PQconninfoFree(opts);
        return NULL;
    }
    PQconninfoFree(opts);
    return c;
}

/* r when it succeeded; else NULL, with its message in err, r cleared. */
static PGresult *checked(PGconn *c, PGresult *r, char *err, size_t errlen)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    db_error(c, r, err, errlen);
    PQclear(r);
    return NULL;
}

PGconn *db_connect_logged(const char *conninfo)
{
    char err[512];
    PGconn *c = db_connect(conninfo, err, sizeof err);
    if (!c)
        log_error("cannot connect to the database", LOG_STR("reason", err));
    return c;
}

PGresult *db_exec(PGconn *c, const char *name, int n, const char *const *params, char *err,
                  size_t errlen)
{
    return checked(c, PQexecParams(c, db_sql(name), n, NULL, params, NULL, NULL, 0), err, errlen);
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

PGresult *db_exec_named(PGconn *c, const char *name, int n, const char *const *params, char *err,
                        size_t errlen)
{
    return checked(c, db_exec_prepared(c, name, n, params, NULL, NULL, 0), err, errlen);
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

int db_begin_index_only(PGconn *c, int async_commit, char *err, size_t errlen)
{
#define INDEX_ONLY                                                                                 \
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; "                            \
    "SET LOCAL enable_mergejoin = off; SET LOCAL jit = off"
    static const char *const start[] = {
        "BEGIN; " INDEX_ONLY,
        "BEGIN; SET LOCAL synchronous_commit = off; " INDEX_ONLY,
    };
#undef INDEX_ONLY
    return db_simple(c, start[async_commit != 0], err, errlen);
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
