/*
 * DESIGN: one thread owns a database link (queries and LISTEN
 * postpace_outbox) and a libcurl multi handle. Once half its slots are
 * free, a turn records the answers that came back (one UPDATE for all),
 * claims as many due rows as it has free slots (one UPDATE ... RETURNING),
 * starts their requests, and
 * sleeps in curl_multi_poll with the database socket among the waited fds,
 * until an answer, a notification, the next row's due time or poll_ms.
 * Nothing here touches another thread's state: stopping is a flag and a
 * curl_multi_wakeup.
 */
#include "outbox/outbox.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db/db.h"
#include "db/link.h"
#include "metrics.h"
#include "util/log.h"
#include "util/secret_ref.h"
#include "util/xmalloc.h"
#include "webhook/whsig.h"

#define ERR_MAX 300 /* bytes of an error kept in outbox.last_error */

/* One request in flight. */
struct delivery {
    int64_t id;
    int attempt;
    uint64_t retry_from_ms;
    char *body;
    struct curl_slist *headers;
    CURL *easy;
    char error[CURL_ERROR_SIZE];
    struct delivery *next;
};

/* An answer waiting to be written. */
struct result {
    int64_t id;
    long status;     /* 0: none */
    char *error;     /* NULL: delivered */
    int64_t delay;   /* -2: delivered; -1: dead; else ms */
};

struct outbox {
    struct outbox_options o;
    char *conninfo;
    pthread_t thread;
    atomic_int stopping;
    CURLM *multi;
    struct db_link db;
    struct delivery *flying;
    int in_flight;
    struct result *results;
    size_t nresults, cap;
    uint64_t wake_ms; /* the next row's due time (monotonic), as last asked */
    int notified;
    unsigned rng;
    atomic_ullong delivered, failed, dead;
};

/* ---- pure parts ---- */

uint64_t outbox_delay_ms(int attempt, uint64_t base_ms, uint64_t max_ms, double r)
{
    uint64_t d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    return (uint64_t)((double)d * (0.75 + r / 2));
}

int64_t outbox_next_try(int attempt, uint64_t now_ms, uint64_t retry_from_ms, uint64_t retry_for_ms,
                        uint64_t base_ms, uint64_t max_ms, double r)
{
    uint64_t d = outbox_delay_ms(attempt, base_ms, max_ms, r);
    if (now_ms + d > retry_from_ms + retry_for_ms)
        return -1;
    return (int64_t)d;
}

void outbox_options_init(struct outbox_options *o)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 16;
    o->timeout_ms = 10000;
    o->backoff_ms = 5000;
    o->backoff_max_ms = 3600000;
    o->retry_for_ms = 86400000;
    o->poll_ms = 1000;
    o->shutdown_grace_ms = 10000;
}

/* ---- the database side ---- */

static const char *const prepared[] = {"outbox_claim", "outbox_finish", "outbox_next_due", NULL};

static void lost(struct outbox *ob, const char *why)
{
    log_warn("outbox lost its database connection", LOG_STR("reason", why));
    db_link_close(&ob->db);
}

static PGresult *q(struct outbox *ob, const char *name, int n, const char *const *params)
{
    char err[512];
    if (!ob->db.conn)
        return NULL;
    PGresult *r = db_exec_named(ob->db.conn, name, n, params, err, sizeof err);
    if (!r) {
        if (db_link_broken(&ob->db))
            lost(ob, err);
        else
            log_warn("outbox query failed", LOG_STR("query", name), LOG_STR("reason", err));
    }
    return r;
}

static void connect_db(struct outbox *ob)
{
    char err[512];
    enum db_link_state st = db_link_ensure(&ob->db, clk_mono_ms(clk_real), err, sizeof err);
    if (st == DB_LINK_NEW) {
        PQclear(PQexec(ob->db.conn, "LISTEN postpace_outbox"));
        ob->notified = 1; /* look at once: rows may have come while away */
        log_info("outbox connected");
    }
}

/* Writes every answer gathered so far; kept for the next turn when the
 * database is away (nothing is lost: unwritten rows are still claimed, and
 * come back due after their claim lapses at worst). */
static void flush_results(struct outbox *ob)
{
    if (!ob->nresults || !ob->db.conn)
        return;
    struct db_column c[4] = {0};
    for (size_t i = 0; i < ob->nresults; i++) {
        struct result *r = &ob->results[i];
        char status[16];
        snprintf(status, sizeof status, "%ld", r->status);
        db_col_push_i64(&c[0], r->id);
        db_col_push(&c[1], r->status ? status : NULL);
        db_col_push(&c[2], r->error);
        if (r->delay == -2)
            db_col_push(&c[3], NULL);
        else
            db_col_push_i64(&c[3], r->delay);
    }
    char *texts[4];
    for (int j = 0; j < 4; j++)
        texts[j] = db_col_take(&c[j]);
    const char *params[4] = {texts[0], texts[1], texts[2], texts[3]};
    PGresult *res = q(ob, "outbox_finish", 4, params);
    for (int j = 0; j < 4; j++)
        free(texts[j]);
    if (!res)
        return;
    PQclear(res);
    for (size_t i = 0; i < ob->nresults; i++)
        free(ob->results[i].error);
    ob->nresults = 0;
}

static void add_result(struct outbox *ob, int64_t id, long status, const char *error, int64_t delay)
{
    if (ob->nresults == ob->cap) {
        ob->cap = ob->cap ? ob->cap * 2 : 64;
        ob->results = xrealloc(ob->results, ob->cap * sizeof *ob->results);
    }
    ob->results[ob->nresults++] =
        (struct result){id, status, error ? xstrndup(error, ERR_MAX) : NULL, delay};
}

/* ---- requests ---- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p, (void)arg;
    return size * n;
}

static void delivery_free(struct delivery *d)
{
    if (d->easy)
        curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    free(d->body);
    free(d);
}

static double unit_rand(struct outbox *ob)
{
    return (double)rand_r(&ob->rng) / ((double)RAND_MAX + 1.0);
}

/* A try that did not get a 2xx: the next one, or dead. */
static void failed_try(struct outbox *ob, int64_t id, int attempt, uint64_t retry_from_ms,
                       long status, const char *error)
{
    int64_t delay = outbox_next_try(attempt, clk_now_ms(clk_real), retry_from_ms,
                                    (uint64_t)ob->o.retry_for_ms, (uint64_t)ob->o.backoff_ms,
                                    (uint64_t)ob->o.backoff_max_ms, unit_rand(ob));
    atomic_fetch_add(delay < 0 ? &ob->dead : &ob->failed, 1);
    add_result(ob, id, status, error, delay);
    if (delay < 0)
        log_warn("outgoing webhook is dead: its retry period is over", LOG_INT("delivery", id),
                 LOG_INT("attempts", attempt), LOG_STR("error", error));
    else
        log_info("outgoing webhook try failed", LOG_INT("delivery", id),
                 LOG_INT("attempts", attempt), LOG_INT("retry_in_ms", delay),
                 LOG_STR("error", error));
}

/* Starts row `r` of a claim; a row that cannot be signed fails its try. */
static void launch(struct outbox *ob, PGresult *res, int r)
{
    int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
    int attempt = atoi(PQgetvalue(res, r, 3));
    uint64_t retry_from = strtoull(PQgetvalue(res, r, 4), NULL, 10);
    char secret[512];
    struct whsig_key key;
    if (sref_resolve(PQgetvalue(res, r, 2), secret, sizeof secret) != 0) {
        failed_try(ob, id, attempt, retry_from, 0, "the subscription's secret is not available");
        return;
    }
    secret[strcspn(secret, "\r\n")] = '\0';
    log_secret_add(secret);
    int bad = whsig_key_parse(&key, secret) != 0;
    memset(secret, 0, sizeof secret);
    if (bad) {
        failed_try(ob, id, attempt, retry_from, 0,
                   "the subscription's secret is not whsec_<base64>");
        return;
    }

    struct delivery *d = xcalloc(1, sizeof *d);
    d->id = id;
    d->attempt = attempt;
    d->retry_from_ms = retry_from;
    d->body = xstrdup(PQgetvalue(res, r, 5));
    char msg_id[40], ts[24], sig[WHSIG_SIG_LEN], h[128];
    snprintf(msg_id, sizeof msg_id, "msg_%" PRId64, id);
    snprintf(ts, sizeof ts, "%" PRIu64, clk_now_ms(clk_real) / 1000);
    whsig_sign(&key, msg_id, ts, d->body, strlen(d->body), sig);
    d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
    snprintf(h, sizeof h, "webhook-id: %s", msg_id);
    d->headers = curl_slist_append(d->headers, h);
    snprintf(h, sizeof h, "webhook-timestamp: %s", ts);
    d->headers = curl_slist_append(d->headers, h);
    snprintf(h, sizeof h, "webhook-signature: %s", sig);
    d->headers = curl_slist_append(d->headers, h);
    d->headers = curl_slist_append(d->headers, "Expect:");

    CURL *e = d->easy = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, PQgetvalue(res, r, 1));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->body));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ob->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->error);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "postpace/" POSTPACE_VERSION);
    d->next = ob->flying;
    ob->flying = d;
    ob->in_flight++;
    curl_multi_add_handle(ob->multi, e);
}

static void claim(struct outbox *ob)
{
    int free_slots = ob->o.concurrency - ob->in_flight;
    if (free_slots <= 0 || !ob->db.conn)
        return;
    char limit[16], hide[24];
    snprintf(limit, sizeof limit, "%d", free_slots);
    snprintf(hide, sizeof hide, "%d", ob->o.timeout_ms + 5000);
    const char *params[2] = {limit, hide};
    PGresult *res = q(ob, "outbox_claim", 2, params);
    if (!res)
        return;
    int n = PQntuples(res);
    for (int r = 0; r < n; r++)
        launch(ob, res, r);
    PQclear(res);
    uint64_t now = clk_mono_ms(clk_real);
    ob->wake_ms = now;
    if (n == free_slots)
        return; /* more may be due: claim again as slots free */
    /* Sleep until the next row is due (a claim hides rows, so ask); at
     * least a little while, if one is due that this claim did not get (one
     * another dispatcher holds locked, say). */
    PGresult *nd = q(ob, "outbox_next_due", 0, NULL);
    ob->wake_ms = now + (uint64_t)ob->o.poll_ms;
    if (nd && !PQgetisnull(nd, 0, 0)) {
        uint64_t in = strtoull(PQgetvalue(nd, 0, 0), NULL, 10);
        in = in < 20 ? 20 : in;
        if (now + in < ob->wake_ms)
            ob->wake_ms = now + in;
    }
    PQclear(nd);
}

/* Takes the answers libcurl has finished. */
static void collect(struct outbox *ob)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(ob->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct delivery *d;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(ob->multi, m->easy_handle);
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            atomic_fetch_add(&ob->delivered, 1);
            add_result(ob, d->id, status, NULL, -2);
        } else {
            char why[CURL_ERROR_SIZE + 64];
            if (rc != CURLE_OK)
                snprintf(why, sizeof why, "%s", *d->error ? d->error : curl_easy_strerror(rc));
            else
                snprintf(why, sizeof why, "the subscriber answered HTTP %ld", status);
            failed_try(ob, d->id, d->attempt, d->retry_from_ms, rc == CURLE_OK ? status : 0, why);
        }
        for (struct delivery **p = &ob->flying; *p; p = &(*p)->next) {
            if (*p == d) {
                *p = d->next;
                break;
            }
        }
        ob->in_flight--;
        delivery_free(d);
    }
}

static void wait_for_work(struct outbox *ob)
{
    uint64_t now = clk_mono_ms(clk_real);
    int timeout = ob->o.poll_ms; /* slots busy: an answer wakes the poll */
    if (ob->in_flight <= ob->o.concurrency / 2) {
        if (ob->notified || ob->wake_ms <= now)
            timeout = 0;
        else if (ob->wake_ms - now < (uint64_t)timeout)
            timeout = (int)(ob->wake_ms - now);
    }
    if (!ob->db.conn && timeout > 100)
        timeout = 100; /* reconnect attempts are paced by the link */
    struct curl_waitfd extra = {0, CURL_WAIT_POLLIN, 0};
    int nextra = 0;
    if (ob->db.conn) {
        extra.fd = PQsocket(ob->db.conn);
        nextra = 1;
    }
    int running;
    curl_multi_poll(ob->multi, &extra, (unsigned)nextra, timeout, NULL);
    curl_multi_perform(ob->multi, &running);
    if (ob->db.conn) {
        PQconsumeInput(ob->db.conn);
        PGnotify *n;
        while ((n = PQnotifies(ob->db.conn))) {
            PQfreemem(n);
            ob->notified = 1;
        }
        if (PQstatus(ob->db.conn) != CONNECTION_OK)
            lost(ob, "connection closed");
    }
}

/* At stop: what is still in flight after the grace goes back, due at once. */
static void put_back(struct outbox *ob)
{
    if (!ob->flying)
        return;
    struct db_column ids = {0};
    size_t n = 0;
    while (ob->flying) {
        struct delivery *d = ob->flying;
        ob->flying = d->next;
        db_col_push_i64(&ids, d->id);
        curl_multi_remove_handle(ob->multi, d->easy);
        delivery_free(d);
        n++;
    }
    ob->in_flight = 0;
    char *text = db_col_take(&ids);
    const char *params[1] = {text};
    char err[512];
    PGresult *r = ob->db.conn ? db_exec(ob->db.conn, "outbox_put_back", 1, params, err, sizeof err)
                              : NULL;
    if (r)
        PQclear(r);
    else
        log_warn("outbox stopped with deliveries claimed; they are due again when the claim lapses",
                 LOG_UINT("deliveries", n));
    free(text);
}

static void *outbox_main(void *arg)
{
    struct outbox *ob = arg;
    int running;
    while (!atomic_load(&ob->stopping)) {
        connect_db(ob);
        collect(ob);
        /* Answers are written, and slots refilled, once half the slots are
         * free: two statements per half-batch of deliveries, not per
         * delivery. (An answer waits at most until then, well inside its
         * claim: at worst a crash re-sends it, at least once.) */
        if (ob->in_flight <= ob->o.concurrency / 2) {
            flush_results(ob);
            if (ob->db.conn && (ob->notified || clk_mono_ms(clk_real) >= ob->wake_ms)) {
                ob->notified = 0;
                claim(ob);
            }
        }
        wait_for_work(ob);
    }
    uint64_t until = clk_mono_ms(clk_real) + (uint64_t)ob->o.shutdown_grace_ms;
    while (ob->in_flight > 0 && clk_mono_ms(clk_real) < until) {
        curl_multi_poll(ob->multi, NULL, 0, 100, NULL);
        curl_multi_perform(ob->multi, &running);
        collect(ob);
    }
    flush_results(ob);
    put_back(ob);
    return NULL;
}

static void emit_counters(void *arg, void (*emit)(void *sink, const char *text), void *sink)
{
    struct outbox *ob = arg;
    char text[768];
    snprintf(text, sizeof text,
             "# HELP postpace_outbox_deliveries_total Outgoing webhook tries, by result\n"
             "# TYPE postpace_outbox_deliveries_total counter\n"
             "postpace_outbox_deliveries_total{result=\"delivered\"} %llu\n"
             "postpace_outbox_deliveries_total{result=\"retry\"} %llu\n"
             "postpace_outbox_deliveries_total{result=\"dead\"} %llu\n",
             atomic_load(&ob->delivered), atomic_load(&ob->failed), atomic_load(&ob->dead));
    emit(sink, text);
}

struct outbox *outbox_start(const struct outbox_options *o)
{
    struct outbox *ob = xcalloc(1, sizeof *ob);
    ob->o = *o;
    ob->conninfo = xstrdup(o->conninfo ? o->conninfo : "");
    db_link_init(&ob->db, ob->conninfo, prepared);
    ob->multi = curl_multi_init();
    ob->rng = (unsigned)clk_mono_ms(clk_real) ^ 0x9e3779b9u;
    ob->notified = 1;
    if (pthread_create(&ob->thread, NULL, outbox_main, ob) != 0) {
        curl_multi_cleanup(ob->multi);
        free(ob->conninfo);
        free(ob);
        return NULL;
    }
    met_register_collector(emit_counters, ob);
    return ob;
}

void outbox_stop(struct outbox *ob)
{
    if (!ob)
        return;
    atomic_store(&ob->stopping, 1);
    curl_multi_wakeup(ob->multi);
    pthread_join(ob->thread, NULL);
    met_unregister_collector(emit_counters, ob);
    for (size_t i = 0; i < ob->nresults; i++)
        free(ob->results[i].error);
    free(ob->results);
    db_link_close(&ob->db);
    curl_multi_cleanup(ob->multi);
    free(ob->conninfo);
    free(ob);
}
