/*
 * DESIGN: the HTTP side of the webhook intake; the storing side is
 * src/webhook/store.c. On a loop thread (intake_webhook): verify the raw
 * body, parse it, submit the event to the store, return. The store's
 * writer thread hands the event back after its batch commits (job_done),
 * and the request is answered on the loop that owns it (http_later: a
 * client that hangs up early only detaches its job). Nothing here touches
 * the database; while the store has no working connection, deliveries get
 * 503 at once.
 *
 * A delivery whose signature verifies is stored whatever its shape: only a
 * body that is not JSON is refused (400). Its fields are read with the paths
 * configured for its provider, or for the key whose secret signed it
 * (whstore_read_fields), which the store reloads with the secrets.
 */
#include "http/intake.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "metrics.h"
#include "util/text.h"
#include "util/xmalloc.h"
#include "webhook/store.h"

/* A delivery on its way: the event for the store, and the request it answers. */
struct job {
    struct whstore_event ev; /* what the store holds and hands back (job_done) */
    struct http_later later; /* the request, answered on its loop */
    uint64_t received_ms;
};

struct intake {
    struct intake_options opt;
    struct whstore *store;
    atomic_int accepting;
};

/* ---- loop side ---- */

static void job_free(struct job *j)
{
    whstore_event_clear(&j->ev);
    free(j);
}

static void send_result(h2o_req_t *req, enum whstore_result r)
{
    static const char accepted[] = "{\"status\":\"accepted\"}";
    static const char duplicate[] = "{\"status\":\"duplicate\"}";
    switch (r) {
    case WHSTORE_ACCEPTED: http_send_json(req, 200, "OK", accepted, sizeof accepted - 1); break;
    case WHSTORE_DUPLICATE: http_send_json(req, 200, "OK", duplicate, sizeof duplicate - 1); break;
    case WHSTORE_UNAVAILABLE:
    case WHSTORE_PENDING:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("5"));
        http_send_error(req, 503, "unavailable", "the database is unavailable; retry later");
        break;
    case WHSTORE_FAILED:
        http_send_error(req, 500, "internal", "the event could not be stored");
        break;
    }
}

static enum met_webhook_result metric_of(const struct whstore_event *ev)
{
    enum whstore_result r = ev->result;
    return r == WHSTORE_ACCEPTED && ev->unreadable ? MET_WH_UNREADABLE
           : r == WHSTORE_ACCEPTED                 ? MET_WH_APPLIED
           : r == WHSTORE_DUPLICATE                ? MET_WH_DUPLICATE
                                                   : MET_WH_UNAVAILABLE;
}

/* Runs on the loop thread that received the request. */
static void job_answer(struct http_deferred *d)
{
    struct job *j = H2O_STRUCT_FROM_MEMBER(struct job, later.d, d);
    h2o_req_t *req = http_later_take(&j->later);
    if (req) {
        met_webhook(j->ev.prov, metric_of(&j->ev));
        met_observe_ms(MET_HIST_WEBHOOK_SECONDS, j->ev.prov,
                       clk_mono_ms(clk_real) - j->received_ms);
        send_result(req, j->ev.result);
    }
    job_free(j);
}

/* The store is done with the event (a writer thread): answer on the request's loop. */
static void job_done(struct whstore_event *ev)
{
    struct job *j = H2O_STRUCT_FROM_MEMBER(struct job, ev, ev);
    http_later_post(&j->later);
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

/*
 * Parses the verified body into j with the paths of its provider and key.
 * Only a body that is not JSON is refused (answers 400, returns -1): one
 * that postpace cannot read is stored all the same, pending, for an
 * operator to see and a configuration change to read.
 */
static int parse_event(struct intake *in, h2o_req_t *req, struct job *j, int64_t key_id)
{
    json_t *root = whstore_parse_body(req->entity.base, req->entity.len);
    if (!root) {
        http_send_field_error(req, 400, "invalid_request", "the event cannot be read", "body",
                              "must be JSON");
        return -1;
    }
    whstore_read_fields(in->store, &j->ev, key_id, root);
    json_decref(root);
    if (key_id)
        snprintf(j->ev.key_id, sizeof j->ev.key_id, "%lld", (long long)key_id);
    j->ev.payload = xstrndup(req->entity.base, req->entity.len);
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
    send_result(req, WHSTORE_UNAVAILABLE);
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
        whstore_secrets(in->store), p, h.id_st == HDR_OK ? h.id : NULL,
        h.ts_st == HDR_OK ? h.ts : NULL, h.sig_st == HDR_OK ? h.sig : NULL, req->entity.base,
        req->entity.len, (int64_t)(clk_now_ms(in->opt.clock) / 1000), in->opt.tolerance_s, &key_id);
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
    j->ev.prov = p;
    j->ev.done = job_done;
    if (parse_event(in, req, j, key_id) != 0) {
        met_webhook(p, MET_WH_BAD_REQUEST);
        job_free(j);
        return 0;
    }
    if (!atomic_load(&in->accepting) || !whstore_ready(in->store)) {
        job_free(j);
        unavailable(req, p);
        return 0;
    }
    j->ev.event_id = xstrdup(h.id);
    j->received_ms = clk_mono_ms(clk_real);
    http_later_hold(&j->later, req, job_answer);
    if (whstore_submit(in->store, &j->ev) != 0) {
        http_later_drop(&j->later);
        job_free(j);
        unavailable(req, p);
        return 0;
    }
    return 0;
}

struct intake *intake_start(const struct intake_options *opt)
{
    struct intake *in = xcalloc(1, sizeof *in);
    in->opt = *opt;
    if (!in->opt.clock)
        in->opt.clock = clk_real;
    in->store = whstore_start(&opt->store);
    atomic_store(&in->accepting, 1);
    return in;
}

void intake_stop(struct intake *in)
{
    if (!in)
        return;
    atomic_store(&in->accepting, 0);
    whstore_stop(in->store);
}

/* The loops may still verify deliveries after intake_stop, with the secrets,
 * and submit them to the stopped store, which refuses: both live until here. */
void intake_destroy(struct intake *in)
{
    if (!in)
        return;
    whstore_destroy(in->store);
    free(in);
}

int intake_ready(const struct intake *in)
{
    return whstore_ready(in->store);
}

struct whsec_store *intake_secrets(struct intake *in)
{
    return whstore_secrets(in->store);
}
