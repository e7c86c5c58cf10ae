/*
 * DESIGN: two sides. The loop side (intake_webhook) runs on HTTP loop
 * threads: verify the raw body, parse it, queue a job, return. The writer
 * side is `writers` threads, each with its own PGconn, sharing one queue:
 * each takes up to batch_max queued jobs, stores and applies them with one
 * statement that is its own transaction (postpace_store_events: match, lock
 * targets in id order, INSERT ... ON CONFLICT DO NOTHING already applied,
 * settle the targets), then posts each job back to the loop that owns its
 * request (http_later: a client that hangs up early only detaches its job).
 * With two writers one batch executes while the other waits for its commit
 * to reach the disk, so both cores work. While one writer is storing a
 * batch, another that finds fewer than gather_events queued waits up to
 * gather_ms for more (as PostgreSQL's commit_delay waits for siblings): a
 * batch costs about a millisecond of database CPU however small it is, so
 * under load fewer, larger batches leave more of it for events, and with
 * no batch in flight nothing waits. They cannot deadlock on targets
 * (both lock in id order first); a duplicate of an event another writer is
 * storing waits for that commit and is then skipped. Writer 0 also reloads
 * the signing secrets; the last writer (the same one when there is one),
 * every sweep_ms, applies recent pending events that a concurrent target
 * write made matchable (sweep_pending), a bounded slice per pass.
 *
 * A delivery whose signature verifies is stored whatever its shape: only a
 * body that is not JSON is refused (400). Its fields are read with the paths
 * configured for its provider, or for the key whose secret signed it
 * (src/webhook/fields.h), which writer 0 reloads with the secrets. When a
 * reload finds a provider's paths changed, writer 0 reads that provider's
 * pending events again from their kept payloads, REMATCH_PAGE at a time
 * between batches (rematch_page), and applies those that now match.
 */
#include "http/intake.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "db/link.h"
#include "http/server.h"
#include "metrics.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xmalloc.h"
#include "webhook/fields.h"

enum job_result { JOB_PENDING, JOB_ACCEPTED, JOB_DUPLICATE, JOB_UNAVAILABLE, JOB_FAILED };

struct job {
    struct http_later later; /* the request, answered on its loop */
    enum prov_id prov;
    char *event_id, *type, *raw_type, *payload, *reference, *post_id, *account_id;
    char key_id[24];  /* the signing key's provider_keys id ("" when added by hand) */
    int unreadable;   /* no verdict, or no id to match by: stored pending */
    uint64_t received_ms;
    enum job_result result;
    struct job *next;
};

/* One writer thread and what only it touches. */
struct writer {
    struct intake *in;
    int index; /* 0 also reloads the signing secrets; the last also sweeps pending events */
    pthread_t thread;
    struct db_link db; /* its connection, reconnected with backoff */
    int connected;     /* counted in in->db_ok */
    uint64_t next_refresh_ms, next_sweep_ms;
    char *sweep_cursor[3]; /* where the sweep goes on: received_at, provider, event id (NULL: start) */
    int rematch;                        /* writer 0: providers (1 << id) to read again */
    char *rematch_after[PROV_COUNT];    /* writer 0: the last event id read (NULL: start) */
};

struct intake {
    struct intake_options opt;
    struct whsec_store *secrets;
    struct whfields *fields;
    struct writer *writers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, **tail; /* the queue, under lock */
    int queued;               /* jobs in the queue, under lock */
    int storing;              /* writers storing a batch, under lock */
    int stopping;             /* under lock */
    atomic_int accepting;
    atomic_int db_ok; /* writers with a working connection */
};

/* ---- loop side ---- */

static void job_free(struct job *j)
{
    free(j->event_id);
    free(j->type);
    free(j->raw_type);
    free(j->payload);
    free(j->reference);
    free(j->post_id);
    free(j->account_id);
    free(j);
}

static void send_result(h2o_req_t *req, enum job_result r)
{
    static const char accepted[] = "{\"status\":\"accepted\"}";
    static const char duplicate[] = "{\"status\":\"duplicate\"}";
    switch (r) {
    case JOB_ACCEPTED: http_send_json(req, 200, "OK", accepted, sizeof accepted - 1); break;
    case JOB_DUPLICATE: http_send_json(req, 200, "OK", duplicate, sizeof duplicate - 1); break;
    case JOB_UNAVAILABLE:
    case JOB_PENDING:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("5"));
        http_send_error(req, 503, "unavailable", "the database is unavailable; retry later");
        break;
    case JOB_FAILED: http_send_error(req, 500, "internal", "the event could not be stored"); break;
    }
}

static enum met_webhook_result metric_of(const struct job *j)
{
    enum job_result r = j->result;
    return r == JOB_ACCEPTED && j->unreadable ? MET_WH_UNREADABLE
           : r == JOB_ACCEPTED                ? MET_WH_APPLIED
           : r == JOB_DUPLICATE ? MET_WH_DUPLICATE
                                : MET_WH_UNAVAILABLE;
}

/* Runs on the loop thread that received the request. */
static void job_answer(struct http_deferred *d)
{
    struct job *j = H2O_STRUCT_FROM_MEMBER(struct job, later.d, d);
    h2o_req_t *req = http_later_take(&j->later);
    if (req) {
        met_webhook(j->prov, metric_of(j));
        met_observe_ms(MET_HIST_WEBHOOK_SECONDS, j->prov, clk_mono_ms(clk_real) - j->received_ms);
        send_result(req, j->result);
    }
    job_free(j);
}

/* Why a webhook header cannot be read (HDR_OK: it is in the buffer). */
enum hdr_state { HDR_OK, HDR_MISSING, HDR_TOO_LONG };

/* Copies header `name` into buf (NUL-terminated) when it fits. */
static enum hdr_state header(h2o_req_t *req, const char *name, size_t len, char *buf, size_t size)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);
    if (i < 0)
        return HDR_MISSING;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len >= size)
        return HDR_TOO_LONG;
    memcpy(buf, v.base, v.len);
    buf[v.len] = '\0';
    return HDR_OK;
}

/* The three signature headers, each bounded: a webhook-id must fit the
 * events table (1-200 characters), a signature list holds up to ~40 keys. */
struct wh_headers {
    char id[256], ts[32], sig[2048];
    enum hdr_state id_st, ts_st, sig_st;
};

/* Reads them; answers 400 naming a header too long to be one, and returns -1. */
static int read_headers(h2o_req_t *req, struct wh_headers *h)
{
    h->id_st = header(req, H2O_STRLIT("webhook-id"), h->id, sizeof h->id);
    h->ts_st = header(req, H2O_STRLIT("webhook-timestamp"), h->ts, sizeof h->ts);
    h->sig_st = header(req, H2O_STRLIT("webhook-signature"), h->sig, sizeof h->sig);
    const char *field = NULL;
    size_t limit = 0;
    if (h->id_st == HDR_TOO_LONG)
        field = "webhook-id", limit = sizeof h->id - 1;
    else if (h->ts_st == HDR_TOO_LONG)
        field = "webhook-timestamp", limit = sizeof h->ts - 1;
    else if (h->sig_st == HDR_TOO_LONG)
        field = "webhook-signature", limit = sizeof h->sig - 1;
    if (!field)
        return 0;
    char reason[64];
    snprintf(reason, sizeof reason, "longer than %zu bytes", limit);
    http_send_field_error(req, 400, "invalid_request", "a webhook header is too long", field,
                          reason);
    return -1;
}

/* Why a verified webhook-id cannot name a stored event, or NULL. */
static const char *id_problem(const char *id)
{
    size_t n = strlen(id);
    if (n > 200)
        return "longer than 200 characters";
    if (text_utf8_check(id, n) != n)
        return "must be UTF-8 text";
    return NULL;
}

/* Parses a body as any JSON value. Integers beyond 64 bits are valid JSON:
 * a second pass reads them as reals rather than refuse the body. */
static json_t *parse_body(const char *body, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!root)
        root = json_loadb(body, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    return root;
}

static char *dup_value(const struct whpath_values *v, enum whpath_field f)
{
    return v->has[f] ? xstrdup(v->value[f]) : NULL;
}

/* Fills j's fields from the values read from its body. */
static void take_values(struct job *j, const struct whpath_values *v)
{
    const char *type = whpath_verdict_type(v->verdict);
    j->type = type ? xstrdup(type) : NULL;
    j->raw_type = dup_value(v, WHPATH_TYPE);
    j->reference = dup_value(v, WHPATH_REFERENCE);
    j->post_id = dup_value(v, WHPATH_POST_ID);
    j->account_id = dup_value(v, WHPATH_ACCOUNT);
    j->unreadable = !type || (!j->reference && !j->post_id);
}

/*
 * Parses the verified body into j with the paths of its provider and key.
 * Only a body that is not JSON is refused (answers 400, returns -1): one
 * that postpace cannot read is stored all the same, pending, for an
 * operator to see and a configuration change to read.
 */
static int parse_event(struct intake *in, h2o_req_t *req, struct job *j, int64_t key_id)
{
    json_t *root = parse_body(req->entity.base, req->entity.len);
    if (!root) {
        http_send_field_error(req, 400, "invalid_request", "the event cannot be read", "body",
                              "must be JSON");
        return -1;
    }
    struct whpath_values v;
    whfields_extract(in->fields, j->prov, key_id, root, &v);
    json_decref(root);
    take_values(j, &v);
    if (key_id)
        snprintf(j->key_id, sizeof j->key_id, "%lld", (long long)key_id);
    j->payload = xstrndup(req->entity.base, req->entity.len);
    return 0;
}

static int provider_of(h2o_req_t *req, enum prov_id *p)
{
    static const char prefix[] = "/webhooks/";
    h2o_iovec_t path = req->path_normalized;
    size_t n = sizeof prefix - 1;
    return prov_parse(path.base + n, path.len - n, p);
}

static void unavailable(h2o_req_t *req, enum prov_id p)
{
    met_webhook(p, MET_WH_UNAVAILABLE);
    send_result(req, JOB_UNAVAILABLE);
}

/* Queues j for the writer; returns -1 once the writer is stopping. */
static int enqueue(struct intake *in, struct job *j)
{
    pthread_mutex_lock(&in->lock);
    int stopping = in->stopping;
    if (!stopping) {
        *in->tail = j;
        in->tail = &j->next;
        /* Wake a writer for the first job, and a gathering one when enough
         * have come: a signal per job woke it two dozen times a batch. */
        if (++in->queued == 1 || in->queued == in->opt.gather_events)
            pthread_cond_signal(&in->cond);
    }
    pthread_mutex_unlock(&in->lock);
    return stopping ? -1 : 0;
}

int intake_webhook(struct intake *in, h2o_req_t *req)
{
    enum prov_id p;
    if (provider_of(req, &p) != 0) {
        http_send_error(req, 404, "not_found", "unknown provider");
        return 0;
    }
    struct wh_headers h;
    int64_t key_id = 0;
    if (read_headers(req, &h) != 0) {
        met_webhook(p, MET_WH_BAD_REQUEST);
        return 0;
    }
    enum whsig_result v = whsec_store_verify(
        in->secrets, p, h.id_st == HDR_OK ? h.id : NULL, h.ts_st == HDR_OK ? h.ts : NULL,
        h.sig_st == HDR_OK ? h.sig : NULL, req->entity.base, req->entity.len,
        (int64_t)(clk_now_ms(in->opt.clock) / 1000), in->opt.tolerance_s, &key_id);
    if (v != WHSIG_OK) {
        met_webhook(p, MET_WH_UNAUTHORIZED);
        http_send_error(req, 401, "invalid_signature", whsig_strerror(v));
        return 0;
    }
    const char *problem = id_problem(h.id);
    if (problem) {
        met_webhook(p, MET_WH_BAD_REQUEST);
        http_send_field_error(req, 400, "invalid_request", "the event cannot be read", "webhook-id",
                              problem);
        return 0;
    }
    struct job *j = xcalloc(1, sizeof *j);
    j->prov = p;
    if (parse_event(in, req, j, key_id) != 0) {
        met_webhook(p, MET_WH_BAD_REQUEST);
        job_free(j);
        return 0;
    }
    if (!atomic_load(&in->accepting) || !atomic_load(&in->db_ok)) {
        job_free(j);
        unavailable(req, p);
        return 0;
    }
    j->event_id = xstrdup(h.id);
    j->received_ms = clk_mono_ms(clk_real);
    http_later_hold(&j->later, req, job_answer);
    if (enqueue(in, j) != 0) {
        http_later_drop(&j->later);
        job_free(j);
        unavailable(req, p);
        return 0;
    }
    return 0;
}

/* ---- writer side ---- */

static void answer_all(struct job *batch, enum job_result r)
{
    while (batch) {
        struct job *next = batch->next;
        if (batch->result == JOB_PENDING)
            batch->result = r;
        http_later_post(&batch->later);
        batch = next;
    }
}

static void connection_lost(struct writer *w, const char *why)
{
    if (w->connected) {
        w->connected = 0;
        if (atomic_fetch_sub(&w->in->db_ok, 1) == 1)
            log_warn("intake lost the database; answering 503 until it is back",
                     LOG_STR("reason", why));
    }
    db_link_close(&w->db);
}

/* Marks each job whose (provider, event id) the INSERT returned as accepted. */
static void mark_new(struct job *batch, PGresult *r)
{
    for (struct job *j = batch; j; j = j->next)
        j->result = JOB_DUPLICATE;
    for (int i = 0; i < PQntuples(r); i++) {
        for (struct job *j = batch; j; j = j->next) {
            if (j->result == JOB_DUPLICATE &&
                strcmp(prov_name(j->prov), PQgetvalue(r, i, 0)) == 0 &&
                strcmp(j->event_id, PQgetvalue(r, i, 1)) == 0) {
                j->result = JOB_ACCEPTED;
                break;
            }
        }
    }
}

/*
 * One statement for the batch (sql/webhook_store.sql): it runs as its own
 * transaction, so its result arrives only after the commit. Returns 0, or -1
 * (nothing stored) with err.
 */
static int store_batch(PGconn *conn, struct job *batch, char *err, size_t errlen)
{
    size_t n = 0;
    for (struct job *j = batch; j; j = j->next)
        n++;
    enum { NCOLS = 9 };
    const char **cols[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        cols[c] = xcalloc(n, sizeof(char *));
    size_t i = 0;
    for (struct job *j = batch; j; j = j->next, i++) {
        cols[0][i] = prov_name(j->prov);
        cols[1][i] = j->event_id;
        cols[2][i] = j->type;
        cols[3][i] = j->payload;
        cols[4][i] = j->reference;
        cols[5][i] = j->post_id;
        cols[6][i] = j->account_id;
        cols[7][i] = j->raw_type;
        cols[8][i] = j->key_id[0] ? j->key_id : NULL;
    }
    char *arrays[NCOLS];
    int lens[NCOLS], binary[NCOLS] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int c = 0; c < NCOLS; c++) {
        arrays[c] = db_text_array_binary(cols[c], n, &lens[c]);
        free(cols[c]);
    }
    PGresult *stored = db_exec_prepared(conn, "webhook_store", NCOLS, (const char *const *)arrays, lens,
                                      binary, 0);
    int ok = PQresultStatus(stored) == PGRES_TUPLES_OK;
    if (ok)
        mark_new(batch, stored);
    else
        db_error(conn, stored, err, errlen);
    PQclear(stored);
    for (int c = 0; c < NCOLS; c++)
        free(arrays[c]);
    return ok ? 0 : -1;
}

static void process(struct writer *w, struct job *batch)
{
    char err[512];
    if (!w->db.conn) {
        answer_all(batch, JOB_UNAVAILABLE);
        return;
    }
    uint64_t t0 = clk_mono_ms(clk_real);
    if (store_batch(w->db.conn, batch, err, sizeof err) == 0) {
        size_t n = 0;
        for (struct job *j = batch; j; j = j->next)
            n++;
        log_debug("webhook batch committed", LOG_UINT("events", n),
                  LOG_UINT("ms", clk_mono_ms(clk_real) - t0));
        answer_all(batch, JOB_PENDING);
        return;
    }
    if (PQstatus(w->db.conn) != CONNECTION_OK) {
        connection_lost(w, err);
        for (struct job *j = batch; j; j = j->next)
            j->result = JOB_UNAVAILABLE;
        answer_all(batch, JOB_UNAVAILABLE);
        return;
    }
    /* A statement failed with the connection intact: isolate the bad event. */
    log_warn("webhook batch failed; storing its events one by one", LOG_STR("reason", err));
    while (batch) {
        struct job *next = batch->next;
        batch->next = NULL;
        if (store_batch(w->db.conn, batch, err, sizeof err) != 0) {
            batch->result = PQstatus(w->db.conn) == CONNECTION_OK ? JOB_FAILED : JOB_UNAVAILABLE;
            log_error("webhook event not stored", LOG_STR("event_id", batch->event_id),
                      LOG_STR("reason", err));
        }
        answer_all(batch, JOB_PENDING);
        batch = next;
    }
}

/* Publishes the stored events that match no target, per provider, as gauges. */
static void count_unmatched(struct writer *w)
{
    char err[512];
    PGresult *r = db_exec(w->db.conn, "webhook_unmatched_counts", 0, NULL, err, sizeof err);
    if (!r) {
        log_warn("cannot count unmatched webhook events", LOG_STR("reason", err));
        return;
    }
    uint64_t unmatched[PROV_COUNT] = {0}, unreadable[PROV_COUNT] = {0};
    for (int i = 0; i < PQntuples(r); i++) {
        enum prov_id p;
        const char *name = PQgetvalue(r, i, 0);
        if (prov_parse(name, strlen(name), &p) != 0)
            continue;
        unmatched[p] = strtoull(PQgetvalue(r, i, 1), NULL, 10);
        unreadable[p] = strtoull(PQgetvalue(r, i, 2), NULL, 10);
    }
    PQclear(r);
    for (int p = 0; p < PROV_COUNT; p++)
        met_webhooks_unmatched((enum prov_id)p, unmatched[p], unreadable[p]);
}

/* Reloads the signing secrets and the field paths; a provider whose paths
 * changed has its pending events read again (rematch_page). */
static void refresh_secrets(struct writer *w, uint64_t now)
{
    char err[512];
    w->next_refresh_ms = now + (uint64_t)w->in->opt.secrets_refresh_ms;
    int n = whsec_store_load(w->in->secrets, w->db.conn, err, sizeof err);
    if (n < 0)
        log_warn("cannot reload webhook secrets", LOG_STR("reason", err));
    int changed = whfields_load(w->in->fields, w->db.conn, err, sizeof err);
    if (changed < 0) {
        log_warn("cannot reload webhook field paths", LOG_STR("reason", err));
        return;
    }
    for (int p = 0; p < PROV_COUNT; p++) {
        if (!(changed & (1 << p)))
            continue;
        w->rematch |= 1 << p;
        free(w->rematch_after[p]);
        w->rematch_after[p] = NULL; /* a pass under way starts over with the new paths */
    }
    count_unmatched(w);
}

/* Pending events one re-read examines at a time, between batches. */
#define REMATCH_PAGE 500

/* Reads the page's events again into the parallel columns; frees nothing. */
static void reread(struct intake *in, enum prov_id p, PGresult *r, const char **cols[6],
                   char **owned)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct job j = {.prov = p};
        struct whpath_values v;
        json_t *root = parse_body(PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
        int64_t key_id = PQgetisnull(r, i, 1) ? 0 : strtoll(PQgetvalue(r, i, 1), NULL, 10);
        whfields_extract(in->fields, p, key_id, root, &v);
        json_decref(root);
        take_values(&j, &v);
        cols[0][i] = PQgetvalue(r, i, 0);
        cols[1][i] = owned[5 * i] = j.type;
        cols[2][i] = owned[5 * i + 1] = j.raw_type;
        cols[3][i] = owned[5 * i + 2] = j.reference;
        cols[4][i] = owned[5 * i + 3] = j.post_id;
        cols[5][i] = owned[5 * i + 4] = j.account_id;
    }
}

/* Sends the re-read fields of a page; returns the events now applied, or -1. */
static int rematch_store(struct writer *w, enum prov_id p, const char **cols[6], size_t n)
{
    char *arrays[6], err[512];
    int lens[7], binary[7] = {0, 1, 1, 1, 1, 1, 1};
    const char *params[7] = {prov_name(p)};
    for (int c = 0; c < 6; c++) {
        arrays[c] = db_text_array_binary(cols[c], n, &lens[c + 1]);
        params[c + 1] = arrays[c];
    }
    PGresult *r = db_exec_prepared(w->db.conn, "webhook_rematch", 7, params, lens, binary, 0);
    int applied = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    if (applied < 0) {
        db_error(w->db.conn, r, err, sizeof err);
        log_warn("cannot re-match webhook events", LOG_STR("provider", prov_name(p)),
                 LOG_STR("reason", err));
    }
    PQclear(r);
    for (int c = 0; c < 6; c++)
        free(arrays[c]);
    return applied;
}

/*
 * One page of the re-read that a change of a provider's paths started: its
 * pending events after the cursor, at most REMATCH_PAGE, read again from
 * their payloads with the paths now in force (parsed once, at the load) and
 * applied if they now match. Cost per call: one page; a backlog is read in
 * turns, interleaved with batches. A failed page is tried again next time.
 */
static void rematch_page(struct writer *w)
{
    enum prov_id p = 0;
    while (!(w->rematch & (1 << p)))
        p++;
    char page[16], err[512];
    snprintf(page, sizeof page, "%d", REMATCH_PAGE);
    const char *params[] = {prov_name(p), w->rematch_after[p] ? w->rematch_after[p] : "", page};
    PGresult *r = db_exec_prepared(w->db.conn, "webhook_rematch_page", 3, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        db_error(w->db.conn, r, err, sizeof err);
        log_warn("cannot read pending webhook events", LOG_STR("reason", err));
        PQclear(r);
        return;
    }
    size_t n = (size_t)PQntuples(r);
    const char **cols[6];
    for (int c = 0; c < 6; c++)
        cols[c] = xcalloc(n ? n : 1, sizeof(char *));
    char **owned = xcalloc(5 * n + 1, sizeof(char *));
    reread(w->in, p, r, cols, owned);
    int applied = n ? rematch_store(w, p, cols, n) : 0;
    if (applied > 0)
        log_info("applied pending webhook events that the new field paths read",
                 LOG_STR("provider", prov_name(p)), LOG_INT("events", applied));
    if (applied >= 0) {
        free(w->rematch_after[p]);
        w->rematch_after[p] = n == REMATCH_PAGE ? xstrdup(PQgetvalue(r, (int)n - 1, 0)) : NULL;
        if (n < REMATCH_PAGE) {
            w->rematch &= ~(1 << p);
            count_unmatched(w);
        }
    }
    for (size_t i = 0; i < 5 * n; i++)
        free(owned[i]);
    free(owned);
    for (int c = 0; c < 6; c++)
        free(cols[c]);
    PQclear(r);
}

/* Events one sweep pass examines at most: bounds its cost whatever is pending. */
#define SWEEP_BUDGET "1000"

/* Keeps the cursor the pass returned (NULLs: the next pass starts over). */
static void sweep_move_cursor(struct writer *w, PGresult *r)
{
    for (int i = 0; i < 3; i++) {
        free(w->sweep_cursor[i]);
        w->sweep_cursor[i] =
            r && !PQgetisnull(r, 0, i + 1) ? xstrdup(PQgetvalue(r, 0, i + 1)) : NULL;
    }
}

/*
 * Applies pending events that a target write made matchable while they were
 * being stored, each seeing the other uncommitted (sql/webhook_sweep.sql,
 * postpace_sweep_pending). Nothing else would apply them until that target is
 * written again. Each pass examines at most SWEEP_BUDGET events from where
 * the last stopped, so events that match nothing, however many, cost a
 * bounded pass, never a scan of them all.
 */
static void sweep_pending(struct writer *w, uint64_t now)
{
    char window[16], err[512];
    w->next_sweep_ms = now + (uint64_t)w->in->opt.sweep_ms;
    snprintf(window, sizeof window, "%d", w->in->opt.sweep_window_s);
    const char *params[] = {window, SWEEP_BUDGET, w->sweep_cursor[0], w->sweep_cursor[1],
                            w->sweep_cursor[2]};
    PGresult *r = db_exec_prepared(w->db.conn, "webhook_sweep", 5, params, NULL, NULL, 0);
    int applied = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    sweep_move_cursor(w, applied < 0 ? NULL : r);
    if (applied < 0) {
        db_error(w->db.conn, r, err, sizeof err);
        log_warn("cannot sweep pending webhook events", LOG_STR("reason", err));
    } else if (applied > 0) {
        met_webhooks_swept((unsigned)applied);
        log_info("applied pending webhook events that a concurrent write made matchable",
                 LOG_INT("events", applied));
    }
    PQclear(r);
}

/* The statements each writer prepares: parsed and planned once, not per batch. */
static const char *const prepared[] = {"webhook_store", "webhook_sweep", "webhook_rematch_page",
                                       "webhook_rematch", NULL};

/* Connects when due (db/link.h: backoff from 100 ms to 5 s). */
static void maintain_connection(struct writer *w, uint64_t now)
{
    if (db_link_broken(&w->db))
        connection_lost(w, "connection closed");
    char err[512];
    enum db_link_state st = db_link_ensure(&w->db, now, err, sizeof err);
    if (st == DB_LINK_UNPREPARED)
        log_warn("intake cannot prepare its statements", LOG_STR("reason", err));
    if (st != DB_LINK_NEW)
        return;
    if (w->index == 0)
        refresh_secrets(w, now);
    w->connected = 1;
    if (atomic_fetch_add(&w->in->db_ok, 1) == 0)
        log_info("intake connected to the database", LOG_INT("writer", w->index));
}

/*
 * Takes up to batch_max jobs, waiting at most `wait_ms` for the first, then
 * (while another writer is storing) at most gather_ms for gather_events. A
 * writer without a connection takes none while another writer has one;
 * when none has, it takes them to answer 503 rather than leave them waiting.
 */
static struct job *take_batch(struct writer *w, uint64_t wait_ms, int *stop)
{
    struct intake *in = w->in;
    pthread_mutex_lock(&in->lock);
    if (!in->head && !in->stopping) {
        struct timespec ts = clk_cond_deadline(wait_ms);
        pthread_cond_timedwait(&in->cond, &in->lock, &ts);
    }
    if (w->db.conn && in->head && in->queued < in->opt.gather_events && in->storing > 0) {
        struct timespec ts = clk_cond_deadline((uint64_t)in->opt.gather_ms);
        while (in->queued < in->opt.gather_events && in->storing > 0 && !in->stopping)
            if (pthread_cond_timedwait(&in->cond, &in->lock, &ts) != 0)
                break;
    }
    struct job *batch = NULL;
    if (w->db.conn || atomic_load(&in->db_ok) == 0) {
        struct job **end = &in->head;
        int n = 0;
        for (; *end && n < in->opt.batch_max; n++)
            end = &(*end)->next;
        in->queued -= n;
        in->storing += n > 0;
        batch = in->head;
        in->head = *end;
        *end = NULL;
        if (!in->head)
            in->tail = &in->head;
        if (in->head) /* more than one batch waits: wake another writer */
            pthread_cond_signal(&in->cond);
    }
    *stop = in->stopping && !in->head && !batch;
    pthread_mutex_unlock(&in->lock);
    return batch;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (;;) {
        uint64_t now = clk_mono_ms(clk_real);
        maintain_connection(w, now);
        if (w->db.conn && w->index == 0 && now >= w->next_refresh_ms)
            refresh_secrets(w, now);
        uint64_t wait_ms = w->db.conn ? 1000 : 100;
        if (w->db.conn && w->index == 0 && w->rematch) {
            rematch_page(w);
            wait_ms = 0; /* the next page after the batches waiting, if any */
        }
        /* The sweep runs on the last writer, so that with two or more the
         * secrets' reload (writer 0) never waits behind a pass. */
        if (w->db.conn && w->index == w->in->opt.writers - 1 && w->in->opt.sweep_ms > 0) {
            if (now >= w->next_sweep_ms)
                sweep_pending(w, now);
            if (w->next_sweep_ms - now < wait_ms)
                wait_ms = w->next_sweep_ms - now;
        }
        int stop;
        struct job *batch = take_batch(w, wait_ms, &stop);
        if (stop)
            break;
        if (batch) {
            process(w, batch);
            pthread_mutex_lock(&w->in->lock);
            w->in->storing--;
            pthread_cond_broadcast(&w->in->cond); /* a gathering writer goes now */
            pthread_mutex_unlock(&w->in->lock);
        } else if (w->db.conn && PQstatus(w->db.conn) == CONNECTION_OK)
            PQconsumeInput(w->db.conn); /* notices a server that went away while idle */
    }
    if (w->connected)
        atomic_fetch_sub(&w->in->db_ok, 1);
    w->connected = 0;
    db_link_close(&w->db);
    return NULL;
}

struct intake *intake_start(const struct intake_options *opt)
{
    struct intake *in = xcalloc(1, sizeof *in);
    in->opt = *opt;
    if (in->opt.batch_max <= 0)
        in->opt.batch_max = 256;
    if (in->opt.secrets_refresh_ms <= 0)
        in->opt.secrets_refresh_ms = 30000;
    if (in->opt.writers <= 0)
        in->opt.writers = 1;
    if (!in->opt.clock)
        in->opt.clock = clk_real;
    in->secrets = whsec_store_create();
    in->fields = whfields_create();
    in->tail = &in->head;
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->cond, NULL);
    atomic_store(&in->accepting, 1);
    in->writers = xcalloc((size_t)in->opt.writers, sizeof *in->writers);
    for (int i = 0; i < in->opt.writers; i++) {
        struct writer *w = &in->writers[i];
        w->in = in;
        w->index = i;
        db_link_init(&w->db, in->opt.conninfo, prepared);
        /* Connect once up front so the daemon starts ready when the database is. */
        maintain_connection(w, clk_mono_ms(clk_real));
        pthread_create(&w->thread, NULL, writer_main, w);
    }
    return in;
}

void intake_stop(struct intake *in)
{
    if (!in)
        return;
    atomic_store(&in->accepting, 0);
    pthread_mutex_lock(&in->lock);
    in->stopping = 1;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    for (int i = 0; i < in->opt.writers; i++)
        pthread_join(in->writers[i].thread, NULL);
}

/* The loops may still verify deliveries after intake_stop, with the secrets
 * and the queue's lock: those live until here. */
void intake_destroy(struct intake *in)
{
    if (!in)
        return;
    for (int i = 0; i < in->opt.writers; i++) {
        sweep_move_cursor(&in->writers[i], NULL);
        for (int p = 0; p < PROV_COUNT; p++)
            free(in->writers[i].rematch_after[p]);
    }
    whfields_destroy(in->fields);
    free(in->writers);
    whsec_store_destroy(in->secrets);
    pthread_mutex_destroy(&in->lock);
    pthread_cond_destroy(&in->cond);
    free(in);
}

int intake_ready(const struct intake *in)
{
    return atomic_load(&in->db_ok) > 0;
}

struct whsec_store *intake_secrets(struct intake *in)
{
    return in->secrets;
}
