/*
 * DESIGN: the request pipeline shared by the five providers, the in-memory
 * post store, the fault injector, the control endpoints (/_stats, /_reset,
 * /_faults) and the request log. One h2o loop thread runs all of it and owns
 * every window, post and counter, so nothing here locks; webhook deliveries
 * leave through sim_hook (its own thread). The loop never sleeps: latency is
 * an h2o timeout, a dropped connection is a shutdown(2) of its socket.
 *
 * Pipeline per provider request (README "Pipeline"):
 *   route -> drop fault -> auth (401) -> request windows (429) -> validation
 *   (400) -> post quotas (429/402) -> commit -> 5xx fault -> action
 *   (create: posts, duplicates, webhooks; 5xx-after-create fault) -> answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim_http.h"
#include "sim_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define LIST_MAX 1000   /* posts returned by a list endpoint */
#define MAX_TIMEOUTS 16 /* distinct latency values kept as h2o timeouts */

/* A created account-post. */
struct sim_post {
    char id[SIM_ID_LEN];
    uint32_t key; /* index in cfg.keys */
    char *account;
    char *reference;
    char *content;
    uint64_t created_us;
    const char *status; /* "published", "failed", "deleted" */
};

/* Open-addressing map from non-zero 64-bit hashes to values. */
struct u64map {
    uint64_t *k, *v;
    size_t cap, n;
};

struct prov_state {
    struct sim_counts counts;
    struct sim_post *posts;
    size_t nposts, capposts;
    struct u64map by_id; /* post id -> index */
    struct u64map seen;  /* idempotency and content fingerprints */
};

struct sim_faults {
    double error_ratio;              /* 5xx, nothing created */
    double error_after_create_ratio; /* 5xx after the post was created */
    double drop_ratio;               /* close without an answer, nothing done */
    double drop_after_create_ratio;  /* close without an answer after creating */
    double partial_failure_ratio;    /* per account of a multi-account create */
    double webhook_fail_ratio;       /* post.failed instead of post.published */
    double webhook_duplicate_ratio;  /* deliver an event twice (same id) */
    double webhook_loss_ratio;       /* deliver no event at all */
    uint64_t latency_ms;             /* added before every provider answer */
    int webhook_reorder;             /* random delays so events overtake each other */
    uint64_t webhook_reorder_ms;     /* ... up to this much */
    uint64_t seed;
};

struct latency_timeout {
    uint64_t ms;
    h2o_timeout_t t;
};

struct sim {
    struct sim_options opt;
    struct simhttp *server;
    struct hook *hook;
    json_t *cfg_json;
    struct sim_config cfg;
    struct prov_state ps[SIM_NPROV];
    struct sim_faults faults;
    uint64_t rng;
    FILE *log;
    uint64_t next_id;
    uint32_t nonce;
    h2o_loop_t *loop;
    struct latency_timeout timeouts[MAX_TIMEOUTS];
    int ntimeouts;
    char *intent_db;      /* POST /_faults "intent_db": the client's database, or NULL */
    PGconn *intent_conn;  /* loop thread only; opened at the first create after it is set */
};

/* ---- small utilities --------------------------------------------------- */

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* 1 with probability `ratio`; draws nothing when the ratio is 0, so runs stay reproducible. */
static int roll(struct sim *s, double ratio)
{
    if (ratio <= 0)
        return 0;
    return (double)(splitmix(&s->rng) >> 11) * 0x1.0p-53 < ratio;
}

static uint64_t rand_below(struct sim *s, uint64_t n)
{
    return n ? splitmix(&s->rng) % n : 0;
}

static void map_grow(struct u64map *m);

/* Inserts key; returns 1 (and the old value) when it was already there. */
static int map_put(struct u64map *m, uint64_t key, uint64_t val, uint64_t *old)
{
    if (key == 0)
        key = 1;
    if ((m->n + 1) * 2 > m->cap)
        map_grow(m);
    size_t i = key & (m->cap - 1);
    while (m->k[i] != 0) {
        if (m->k[i] == key) {
            if (old)
                *old = m->v[i];
            return 1;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->k[i] = key;
    m->v[i] = val;
    m->n++;
    return 0;
}

static int map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
    if (key == 0)
        key = 1;
    if (m->cap == 0)
        return 0;
    for (size_t i = key & (m->cap - 1); m->k[i] != 0; i = (i + 1) & (m->cap - 1)) {
        if (m->k[i] == key) {
            *val = m->v[i];
            return 1;
        }
    }
    return 0;
}

static void map_grow(struct u64map *m)
{
    struct u64map bigger = {0};
    bigger.cap = m->cap ? m->cap * 2 : 1024;
    bigger.k = xcalloc(bigger.cap, sizeof *bigger.k);
    bigger.v = xcalloc(bigger.cap, sizeof *bigger.v);
    for (size_t i = 0; i < m->cap; i++)
        if (m->k[i])
            map_put(&bigger, m->k[i], m->v[i], NULL);
    free(m->k);
    free(m->v);
    *m = bigger;
}

static void map_finish(struct u64map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    default: return "Status";
    }
}

/* ---- helpers for the personalities (sim_int.h) ------------------------- */

void sim_header(struct rctx *c, const char *name, const char *value)
{
    h2o_iovec_t v = h2o_strdup(&c->req->pool, value, strlen(value));
    h2o_add_header_by_str(&c->req->pool, &c->req->res.headers, name, strlen(name), 0, NULL, v.base,
                          v.len);
}

/* Writes v in decimal at the end of buf (no printf on the hot path); returns the start. */
static char *u64_dec(char buf[24], uint64_t v)
{
    char *p = buf + 23;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

void sim_header_u64(struct rctx *c, const char *name, uint64_t v)
{
    char buf[24];
    sim_header(c, name, u64_dec(buf, v));
}

struct swin *sim_window(struct rctx *c, int widx)
{
    return c->p->w[widx].shared ? &c->key->bucket->w[widx] : &c->key->w[widx];
}

uint32_t sim_limit(struct rctx *c, int widx)
{
    return sim_window(c, widx)->limit;
}

uint64_t sim_secs_until(const struct rctx *c, uint64_t t)
{
    if (t == SWIN_NEVER)
        return 0;
    return t <= c->now ? 0 : (t - c->now + 999999) / 1000000;
}

uint64_t sim_unix_ceil(uint64_t t)
{
    return t == SWIN_NEVER ? 0 : (t + 999999) / 1000000;
}

void sim_iso8601(uint64_t us, char out[32])
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void sim_new_id(struct sim *s, const char *prefix, char out[SIM_ID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(prefix);
    if (n > SIM_ID_LEN - 20)
        n = SIM_ID_LEN - 20;
    memcpy(out, prefix, n);
    out[n++] = '_';
    uint64_t id = ++s->next_id;
    for (int i = 7; i >= 0; i--)
        out[n++] = hex[(s->nonce >> (i * 4)) & 0xf];
    for (int i = 9; i >= 0; i--)
        out[n++] = hex[(id >> (i * 4)) & 0xf];
    out[n] = '\0';
}

/* ---- request log and counters ------------------------------------------ */

#define BUMP(c, field)                                                                             \
    do {                                                                                           \
        (c)->sim->ps[(c)->prov].counts.field++;                                                    \
        if ((c)->key)                                                                              \
            (c)->key->counts.field++;                                                              \
    } while (0)

static void log_request(struct rctx *c)
{
    if (!c->sim->log)
        return;
    char ts[32], idem[160], acc[300], path[300];
    time_t secs = (time_t)(c->now / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char idem_raw[128];
    snprintf(idem_raw, sizeof idem_raw, "%.*s", (int)(c->idem.len < 120 ? c->idem.len : 120),
             c->idem.base ? c->idem.base : "");
    char path_raw[256];
    snprintf(path_raw, sizeof path_raw, "%.*s", (int)(c->sub.len < 200 ? c->sub.len : 200),
             c->sub.base ? c->sub.base : "");
    fprintf(c->sim->log,
            "ts=%s.%06" PRIu64 "Z provider=%s key=%s method=%.*s path=%s accounts=%s status=%d "
            "cause=%s idempotency_key=%s content_hash=%016" PRIx64 " fault=%s\n",
            ts, c->now % 1000000, c->p->name, c->key ? c->key->label : "-", (int)c->req->method.len,
            c->req->method.base, log_quote(path_raw, path, sizeof path),
            log_quote(c->accounts[0] ? c->accounts : "-", acc, sizeof acc), c->status,
            c->cause ? c->cause : "-", log_quote(idem_raw[0] ? idem_raw : "-", idem, sizeof idem),
            c->content_hash, c->fault ? c->fault : "-");
}

static void record_outcome(struct rctx *c, int status)
{
    c->status = status;
    if (status == 429 || (status == 402 && c->cause)) {
        BUMP(c, rate_limited);
        for (int i = 0; i < c->p->nw; i++)
            if (c->cause && strcmp(c->cause, c->p->w[i].name) == 0)
                BUMP(c, cause[i]);
    } else if (status >= 400 && status < 500) {
        BUMP(c, client_errors);
    } else if (status >= 500) {
        BUMP(c, server_errors);
    }
    log_request(c);
}

/* ---- answering: now, later (latency fault) or never (drop fault) ------- */

struct deferred {
    h2o_timeout_entry_t entry;
    h2o_req_t *req;
    char *body;
    size_t len;
};

static void deferred_fire(h2o_timeout_entry_t *entry)
{
    struct deferred *d = H2O_STRUCT_FROM_MEMBER(struct deferred, entry, entry);
    h2o_send_inline(d->req, d->body, d->len);
}

/* Runs when the request's pool is cleared, e.g. the client went away first. */
static void deferred_dispose(void *p)
{
    struct deferred *d = p;
    if (h2o_timeout_is_linked(&d->entry))
        h2o_timeout_unlink(&d->entry);
}

/* The loop ends: its latency timeouts go first (h2o_evloop_destroy insists). */
static void on_loop_end(void *app, h2o_loop_t *loop)
{
    struct sim *s = app;
    for (int i = 0; i < s->ntimeouts; i++)
        h2o_timeout_dispose(loop, &s->timeouts[i].t);
    s->ntimeouts = 0;
}

static h2o_timeout_t *latency_timeout(struct sim *s, h2o_loop_t *loop, uint64_t ms)
{
    for (int i = 0; i < s->ntimeouts; i++)
        if (s->timeouts[i].ms == ms)
            return &s->timeouts[i].t;
    if (s->ntimeouts == MAX_TIMEOUTS)
        return NULL;
    struct latency_timeout *lt = &s->timeouts[s->ntimeouts++];
    lt->ms = ms;
    h2o_timeout_init(loop, &lt->t, ms);
    s->loop = loop;
    return &lt->t;
}

static void send_body(struct rctx *c, char *body, size_t len)
{
    uint64_t ms = c->sim->faults.latency_ms;
    h2o_timeout_t *t = ms ? latency_timeout(c->sim, c->req->conn->ctx->loop, ms) : NULL;
    if (!t) {
        h2o_send_inline(c->req, body, len);
        return;
    }
    struct deferred *d = h2o_mem_alloc_shared(&c->req->pool, sizeof *d, deferred_dispose);
    memset(d, 0, sizeof *d);
    d->entry.cb = deferred_fire;
    d->req = c->req;
    d->body = body;
    d->len = len;
    h2o_timeout_link(c->req->conn->ctx->loop, t, &d->entry);
}

void sim_reply(struct rctx *c, int status, json_t *body)
{
    char stackbuf[2048];
    size_t need = json_dumpb(body, stackbuf, sizeof stackbuf, JSON_COMPACT | JSON_ENCODE_ANY);
    char *buf = h2o_mem_alloc_pool(&c->req->pool, need ? need : 1);
    if (need <= sizeof stackbuf)
        memcpy(buf, stackbuf, need);
    else
        json_dumpb(body, buf, need, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    record_outcome(c, status);
    c->req->res.status = status;
    c->req->res.reason = reason_of(status);
    c->req->res.content_length = need;
    h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    send_body(c, buf, need);
}

/* Closes the connection without an answer: the pending write fails and h2o closes it. */
static void drop_connection(struct rctx *c, const char *fault)
{
    c->fault = fault;
    BUMP(c, dropped);
    record_outcome(c, 0);
    h2o_conn_t *conn = c->req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
    if (sock)
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
    c->req->res.status = 500;
    c->req->res.reason = "Dropped";
    c->req->res.content_length = 0;
    h2o_send_inline(c->req, "", 0);
}

/* ---- limiter ----------------------------------------------------------- */

static int lockouts_on(struct rctx *c, int widx)
{
    return c->prov == SIM_JE && c->sim->opt.jestha_extend_ms > 0 && !c->p->w[widx].per_post;
}

/*
 * Checks windows (by index) for `cost` more units. Returns the refusing
 * window that frees last, or -1. Jestha lockouts are set and extended here.
 */
static int check_windows(struct rctx *c, const int *idx, int n, uint32_t cost, uint64_t *free_at)
{
    int worst = -1;
    uint64_t worst_at = 0, at[SIM_MAXW];
    for (int i = 0; i < n; i++) {
        struct swin *w = sim_window(c, idx[i]);
        at[i] = swin_free_at(w, c->now, cost);
        if (lockouts_on(c, idx[i]) && w->locked_until > c->now) {
            w->locked_until += sim_scaled_us(c->sim->opt.jestha_extend_ms, c->sim->opt.time_scale);
            BUMP(c, lockout_extensions);
            if (w->locked_until > at[i])
                at[i] = w->locked_until;
        }
        if (at[i] > c->now && (worst < 0 || at[i] > worst_at)) {
            worst = idx[i];
            worst_at = at[i];
        }
    }
    for (int i = 0; worst >= 0 && i < n; i++) {
        struct swin *w = sim_window(c, idx[i]);
        if (lockouts_on(c, idx[i]) && at[i] > c->now && at[i] > w->locked_until)
            w->locked_until = at[i];
    }
    *free_at = worst_at;
    return worst;
}

static void commit_request(struct rctx *c)
{
    for (int i = 0; i < c->nwin; i++)
        swin_add(c->win[i], c->now, 1);
}

static void refuse(struct rctx *c, int widx, uint64_t free_at)
{
    c->cause = c->p->w[widx].name;
    if (c->sim->opt.count_rejected)
        commit_request(c);
    c->p->headers(c, widx, free_at);
    c->p->refused(c, widx, free_at);
}

static int mask_to_idx(uint32_t mask, int *idx)
{
    int n = 0;
    for (int i = 0; i < SIM_MAXW; i++)
        if (mask & (1u << i))
            idx[n++] = i;
    return n;
}

/* ---- posts, duplicates, webhooks --------------------------------------- */

static void send_one_webhook(struct rctx *c, const char *url, const char *id, const char *body,
                             size_t len, uint64_t delay_us)
{
    struct hook_job *j = hook_job_create(url, c->key->hook_key, (size_t)c->key->hook_keylen, id,
                                         body, len, (int)c->prov);
    j->delay_us = delay_us;
    hook_submit(c->sim->hook, j);
}

static json_t *rejection(void)
{
    return json_pack("{s:s,s:s}", "code", "platform_rejected", "message",
                     "The platform rejected the post after accepting it.");
}

/* {"type":"post.published","id","timestamp","data":{"post_id","account_id","reference",...}} */
static json_t *event_default(struct rctx *c, const struct sim_create *cr,
                             const struct sim_target *t, const char *evt, int failed)
{
    char ts[32];
    sim_iso8601(c->now, ts);
    json_t *data =
        json_pack("{s:s,s:s,s:s*,s:s,s:s}", "post_id", t->post_id, "account_id", t->account,
                  "reference", cr->reference, "provider", c->p->name, "parent_id", cr->id);
    if (failed)
        json_object_set_new(data, "error", rejection());
    return json_pack("{s:s,s:s,s:s,s:o}", "type", failed ? "post.failed" : "post.published", "id",
                     evt, "timestamp", ts, "data", data);
}

/* The alt dialect's event: other key and type names, none of them among
 * postpace's default webhook paths, a unix time instead of a date. */
static json_t *event_alt(struct rctx *c, const struct sim_create *cr, const struct sim_target *t,
                         const char *evt, int failed)
{
    json_t *obj = json_pack("{s:s,s:s*,s:s,s:s,s:s}", "uid", t->post_id, "ref", cr->reference,
                            "channel", t->account, "provider", c->p->name, "parent", cr->id);
    if (failed)
        json_object_set_new(obj, "reason", rejection());
    return json_pack("{s:s,s:s,s:I,s:o}", "kind",
                     failed ? "publication.rejected" : "publication.live", "event_id", evt, "at",
                     (json_int_t)(c->now / 1000000), "object", obj);
}

/* Decides the post's fate and queues its signed event (twice, with the duplicate fault). */
static const char *queue_webhook(struct rctx *c, const struct sim_create *cr,
                                 const struct sim_target *t)
{
    struct sim *s = c->sim;
    int failed = roll(s, s->faults.webhook_fail_ratio);
    if (failed)
        BUMP(c, failed_events);
    const char *base = c->key->webhook_url ? c->key->webhook_url : s->cfg.webhook_url;
    if (!base || c->key->hook_keylen <= 0 || roll(s, s->faults.webhook_loss_ratio))
        return failed ? "failed" : "published";
    char evt[SIM_ID_LEN];
    sim_new_id(s, "evt", evt);
    json_t *ev = c->dialect == SIM_DIALECT_ALT ? event_alt(c, cr, t, evt, failed)
                                               : event_default(c, cr, t, evt, failed);
    char *body = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    char *url = xasprintf("%s/webhooks/%s", base, c->p->name);
    uint64_t spread = s->faults.webhook_reorder ? s->faults.webhook_reorder_ms * 1000 : 0;
    uint64_t delay = rand_below(s, spread);
    send_one_webhook(c, url, evt, body, strlen(body), delay);
    if (roll(s, s->faults.webhook_duplicate_ratio))
        send_one_webhook(c, url, evt, body, strlen(body), delay + rand_below(s, spread + 50000));
    free(url);
    free(body);
    return failed ? "failed" : "published";
}

/* Counts a duplicate when this account already got this idempotency key or this content. */
static void check_duplicate(struct rctx *c, const struct sim_create *cr, const struct sim_target *t,
                            uint32_t post_idx)
{
    struct prov_state *ps = &c->sim->ps[c->prov];
    uint64_t base = fnv(14695981039346656037ULL, &c->prov, sizeof c->prov);
    int dup = 0;
    if (c->idem.len > 0 || cr->reference) {
        uint64_t h = fnv(base, "I", 1);
        h = c->idem.len ? fnv(h, c->idem.base, c->idem.len) : fnv_str(h, cr->reference);
        h = fnv_str(h, t->account);
        if (map_put(&ps->seen, h, post_idx, NULL)) {
            BUMP(c, dup_idempotency);
            dup = 1;
        }
    }
    uint64_t h = fnv_str(fnv_str(fnv(base, "C", 1), t->account), cr->content);
    if (map_put(&ps->seen, h, post_idx, NULL)) {
        BUMP(c, dup_content);
        dup = 1;
    }
    if (dup)
        BUMP(c, duplicates);
}

static void record_post(struct rctx *c, const struct sim_create *cr, const struct sim_target *t)
{
    struct prov_state *ps = &c->sim->ps[c->prov];
    if (ps->nposts == ps->capposts) {
        ps->capposts = ps->capposts ? ps->capposts * 2 : 256;
        ps->posts = xrealloc(ps->posts, ps->capposts * sizeof *ps->posts);
    }
    uint32_t idx = (uint32_t)ps->nposts++;
    struct sim_post *post = &ps->posts[idx];
    memset(post, 0, sizeof *post);
    snprintf(post->id, sizeof post->id, "%s", t->post_id);
    post->key = (uint32_t)(c->key - c->sim->cfg.keys);
    post->account = xstrdup(t->account);
    post->reference = cr->reference ? xstrdup(cr->reference) : NULL;
    post->content = xstrdup(cr->content ? cr->content : "");
    post->created_us = c->now;
    map_put(&ps->by_id, fnv_str(14695981039346656037ULL, post->id), idx, NULL);
    struct sim_key *k = c->key;
    if (k->nposts == k->capposts) {
        k->capposts = k->capposts ? k->capposts * 2 : 64;
        k->posts = xrealloc(k->posts, k->capposts * sizeof *k->posts);
    }
    k->posts[k->nposts++] = idx;
    BUMP(c, created);
    check_duplicate(c, cr, t, idx);
    post->status = queue_webhook(c, cr, t);
}

/*
 * A test's eye inside the client (POST /_faults "intent_db"): on every
 * create, postpace's own database must already hold the request's intent,
 * the target named by the idempotency key `publishing` with a pending
 * attempts row committed. A client that sends first and commits after (or
 * never) is counted in intent_violations. Blocks the loop for one query:
 * a test tool, never on by default.
 */
static void check_intent(struct rctx *c, const struct sim_create *cr)
{
    struct sim *s = c->sim;
    if (!s->intent_db)
        return;
    if (!s->intent_conn)
        s->intent_conn = PQconnectdb(s->intent_db);
    char key[200];
    snprintf(key, sizeof key, "%.*s", (int)(c->idem.len ? c->idem.len : 0),
             c->idem.len ? c->idem.base : "");
    if (!*key && cr->reference)
        snprintf(key, sizeof key, "%s", cr->reference);
    key[strcspn(key, "+")] = '\0'; /* a batch: the first target's key, then +N */
    const char *params[] = {key};
    PGresult *r =
        PQexecParams(s->intent_conn,
                     "SELECT count(*) FROM post_targets t WHERE t.id = postpace_key_target($1) "
                     "AND t.idempotency_key = $1 "
                     "AND t.status = 'publishing' AND EXISTS (SELECT 1 FROM attempts a "
                     "WHERE a.provider_key_id = t.provider_key_id AND t.id = ANY (a.target_ids) "
                     "AND a.outcome = 'pending')",
                     1, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) == 1;
    PQclear(r);
    BUMP(c, intent_checked);
    if (!ok)
        BUMP(c, intent_violations);
}

static void do_create(struct rctx *c, struct sim_create *cr)
{
    check_intent(c, cr);
    struct sim *s = c->sim;
    int idx[SIM_MAXW], n = mask_to_idx(c->route->post_mask, idx), created = 0;
    char per_account[8];
    snprintf(per_account, sizeof per_account, "%sp", c->p->id_prefix);
    sim_new_id(s, c->p->id_prefix, cr->id);
    for (int i = 0; i < cr->n; i++) {
        struct sim_target *t = &cr->t[i];
        if (c->p->multi_account && cr->n > 1 && roll(s, s->faults.partial_failure_ratio)) {
            t->failed = 1;
            BUMP(c, failed_targets);
            continue;
        }
        if (c->p->multi_account)
            sim_new_id(s, per_account, t->post_id);
        else
            snprintf(t->post_id, sizeof t->post_id, "%s", cr->id);
        record_post(c, cr, t);
        created++;
    }
    for (int i = 0; i < n; i++)
        swin_add(sim_window(c, idx[i]), c->now, (uint32_t)created);
    if (created > 0)
        BUMP(c, create_requests);
}

/* ---- actions ----------------------------------------------------------- */

/* A listed post; the alt dialect names its members as its events do. */
static json_t *post_json(const struct sim_post *p, enum sim_dialect dialect)
{
    if (dialect == SIM_DIALECT_ALT)
        return json_pack("{s:s,s:s,s:s,s:s*,s:s,s:I}", "uid", p->id, "channel", p->account, "state",
                         strcmp(p->status, "published") == 0 ? "live" : "rejected", "ref",
                         p->reference, "text", p->content, "at",
                         (json_int_t)(p->created_us / 1000000));
    char ts[32];
    sim_iso8601(p->created_us, ts);
    return json_pack("{s:s,s:s,s:s,s:s*,s:s,s:s}", "id", p->id, "account_id", p->account, "status",
                     p->status, "reference", p->reference, "content", p->content, "created_at", ts);
}

static void act_list(struct rctx *c)
{
    struct prov_state *ps = &c->sim->ps[c->prov];
    json_t *items = json_array();
    for (size_t i = c->key->nposts; i > 0 && json_array_size(items) < LIST_MAX; i--) {
        const struct sim_post *p = &ps->posts[c->key->posts[i - 1]];
        if (strcmp(p->status, "deleted") != 0)
            json_array_append_new(items, post_json(p, c->dialect));
    }
    c->p->list(c, items);
}

static void act_accounts(struct rctx *c)
{
    json_t *items = json_array();
    for (size_t i = 0; i < c->key->naccounts; i++)
        json_array_append_new(items, json_pack("{s:s}", "id", c->key->accounts[i]));
    if (c->prov == SIM_JE)
        json_array_append_new(items, json_pack("{s:s}", "id", c->key->owner));
    c->p->list(c, items);
}

/* SchedPilot DELETE /posts/{id}: a post of any key of the same user. */
static void act_delete(struct rctx *c)
{
    struct prov_state *ps = &c->sim->ps[c->prov];
    const char *slash = memchr(c->sub.base + 1, '/', c->sub.len - 1);
    size_t idlen = c->sub.len - (size_t)(slash + 1 - c->sub.base);
    char id[SIM_ID_LEN + 1];
    snprintf(id, sizeof id, "%.*s", (int)(idlen < SIM_ID_LEN ? idlen : SIM_ID_LEN), slash + 1);
    uint64_t idx;
    if (idlen >= SIM_ID_LEN || !map_get(&ps->by_id, fnv_str(14695981039346656037ULL, id), &idx) ||
        strcmp(ps->posts[idx].id, id) != 0 ||
        strcmp(c->sim->cfg.keys[ps->posts[idx].key].owner, c->key->owner) != 0 ||
        strcmp(ps->posts[idx].status, "deleted") == 0) {
        c->p->error(c, 404, "not_found", "Post not found", NULL);
        return;
    }
    ps->posts[idx].status = "deleted";
    sim_reply(c, 200, json_pack("{s:i,s:s}", "code", 200, "message", "Post deleted"));
}

static void act_stub(struct rctx *c)
{
    char id[SIM_ID_LEN];
    sim_new_id(c->sim, "stub", id);
    int post = h2o_memis(c->req->method.base, c->req->method.len, H2O_STRLIT("POST"));
    sim_reply(c, post ? 201 : 200, json_pack("{s:{s:s,s:b}}", "data", "id", id, "simulated", 0));
}

static void note_create_for_log(struct rctx *c, const struct sim_create *cr)
{
    size_t off = 0;
    for (int i = 0; i < cr->n && off + 2 < sizeof c->accounts; i++)
        off += (size_t)snprintf(c->accounts + off, sizeof c->accounts - off, "%s%s", i ? "," : "",
                                cr->t[i].account);
    c->content_hash = fnv_str(14695981039346656037ULL, cr->content);
}

/* Validation, post quotas, then the create itself (body parsed here, freed here). */
static void run_create(struct rctx *c)
{
    struct sim *s = c->sim;
    struct sim_create cr;
    struct sim_verr e = {0};
    memset(&cr, 0, sizeof cr);
    json_error_t jerr;
    json_t *body = json_loadb(c->req->entity.base, c->req->entity.len, 0, &jerr);
    if (c->idem.len) {
        char *ref = h2o_mem_alloc_pool(&c->req->pool, c->idem.len + 1);
        memcpy(ref, c->idem.base, c->idem.len);
        ref[c->idem.len] = '\0';
        cr.reference = ref;
    }
    if (!json_is_object(body))
        sim_verr_add(&e, "invalid_request", "body", "The request body must be a JSON object.");
    else
        c->p->parse(c, body, &cr, &e);
    if (!e.code)
        note_create_for_log(c, &cr);
    if (e.code) {
        if (s->opt.count_invalid)
            commit_request(c);
        c->p->headers(c, -1, 0);
        c->p->error(c, 400, e.code, e.message, e.details);
        goto done;
    }
    int idx[SIM_MAXW], n = mask_to_idx(c->route->post_mask, idx);
    uint64_t free_at;
    int widx = check_windows(c, idx, n, (uint32_t)cr.n, &free_at);
    if (widx >= 0) {
        refuse(c, widx, free_at);
        goto done;
    }
    commit_request(c);
    if (roll(s, s->faults.error_ratio)) {
        c->fault = "error";
        c->p->headers(c, -1, 0);
        c->p->error(c, 500, "server_error", "Internal server error.", NULL);
        goto done;
    }
    do_create(c, &cr);
    if (roll(s, s->faults.drop_after_create_ratio)) {
        drop_connection(c, "drop_after_create");
        goto done;
    }
    c->p->headers(c, -1, 0);
    if (roll(s, s->faults.error_after_create_ratio)) {
        c->fault = "error_after_create";
        c->p->error(c, 500, "server_error", "Internal server error.", NULL);
    } else {
        c->p->created(c, &cr);
    }
done:
    json_decref(body);
}

static void run_route(struct rctx *c)
{
    struct sim *s = c->sim;
    c->nwin = mask_to_idx(c->route->req_mask, c->widx);
    for (int i = 0; i < c->nwin; i++)
        c->win[i] = sim_window(c, c->widx[i]);
    uint64_t free_at;
    int widx = check_windows(c, c->widx, c->nwin, 1, &free_at);
    if (widx >= 0) {
        refuse(c, widx, free_at);
        return;
    }
    if (c->route->action == ACT_CREATE) {
        run_create(c);
        return;
    }
    commit_request(c);
    if (roll(s, s->faults.error_ratio)) {
        c->fault = "error";
        c->p->headers(c, -1, 0);
        c->p->error(c, 500, "server_error", "Internal server error.", NULL);
        return;
    }
    c->p->headers(c, -1, 0);
    switch (c->route->action) {
    case ACT_LIST: act_list(c); break;
    case ACT_ACCOUNTS: act_accounts(c); break;
    case ACT_DELETE: act_delete(c); break;
    case ACT_STUB: act_stub(c); break;
    case ACT_CREATE: break;
    }
}

/* ---- routing and auth -------------------------------------------------- */

static int route_matches(const struct sim_route *r, h2o_iovec_t sub)
{
    size_t n = strlen(r->path);
    if (r->path[n - 1] == '/')
        return sub.len > n && memcmp(sub.base, r->path, n) == 0;
    return sub.len == n && memcmp(sub.base, r->path, n) == 0;
}

/* Finds the route; sends 404/405 and returns NULL when there is none. */
static const struct sim_route *find_route(struct rctx *c)
{
    int path_known = 0;
    for (int i = 0; i < c->p->nroutes; i++) {
        const struct sim_route *r = &c->p->routes[i];
        if (!route_matches(r, c->sub))
            continue;
        path_known = 1;
        if (h2o_memis(c->req->method.base, c->req->method.len, r->method, strlen(r->method)))
            return r;
    }
    if (path_known)
        c->p->error(c, 405, "method_not_allowed", "Method not allowed.", NULL);
    else
        c->p->error(c, 404, "not_found", "Not found.", NULL);
    return NULL;
}

static h2o_iovec_t header_value(h2o_req_t *req, const char *lname)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, lname, strlen(lname), -1);
    return i < 0 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
}

static struct sim_key *authenticate(struct rctx *c)
{
    h2o_iovec_t token;
    if (c->p->x_api_key) {
        token = header_value(c->req, "x-api-key");
    } else {
        token = header_value(c->req, "authorization");
        if (token.len <= 7 || strncasecmp(token.base, "Bearer ", 7) != 0)
            return NULL;
        token.base += 7;
        token.len -= 7;
    }
    if (token.len == 0)
        return NULL;
    for (size_t i = 0; i < c->sim->cfg.nkeys; i++) {
        struct sim_key *k = &c->sim->cfg.keys[i];
        if (k->prov == c->prov && strlen(k->secret) == token.len &&
            memcmp(k->secret, token.base, token.len) == 0)
            return k;
    }
    return NULL;
}

static int on_provider(void *app, h2o_req_t *req)
{
    struct sim *s = app;
    struct rctx *c = h2o_mem_alloc_pool(&req->pool, sizeof *c);
    memset(c, 0, sizeof *c);
    c->sim = s;
    c->req = req;
    c->now = wall_us();
    c->dialect = (enum sim_dialect)(s->cfg.dialect >= 0 ? s->cfg.dialect
                                                        : sim_dialect_parse(s->opt.dialect));
    h2o_iovec_t path = req->path_normalized;
    for (int i = 0; i < SIM_NPROV; i++) {
        size_t n = strlen(sim_provs[i]->prefix);
        if (path.len > n && memcmp(path.base, sim_provs[i]->prefix, n) == 0 &&
            path.base[n] == '/') {
            c->prov = (enum sim_prov)i;
            c->p = sim_provs[i];
            c->sub = h2o_iovec_init(path.base + n, path.len - n);
        }
    }
    if (!c->p) {
        simhttp_send_json(req, 404, H2O_STRLIT("{\"error\":\"not_found\"}"));
        return 0;
    }
    BUMP(c, requests);
    c->idem = header_value(req, "idempotency-key");
    if (roll(s, s->faults.drop_ratio)) {
        drop_connection(c, "drop");
        return 0;
    }
    c->route = find_route(c);
    if (!c->route)
        return 0;
    c->key = authenticate(c);
    if (!c->key) {
        BUMP(c, unauthorized);
        c->p->unauthorized(c);
        return 0;
    }
    c->key->counts.requests++;
    run_route(c);
    return 0;
}

/* ---- control endpoints ------------------------------------------------- */

static void reply_json(h2o_req_t *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    h2o_iovec_t v = h2o_strdup(&req->pool, text, strlen(text));
    free(text);
    simhttp_send_json(req, status, v.base, v.len);
}

static json_t *counts_json(const struct sim_counts *k, const struct sim_prov_def *p)
{
    json_t *by = json_object();
    for (int i = 0; i < p->nw; i++)
        json_object_set_new(by, p->w[i].name, json_integer((json_int_t)k->cause[i]));
#define F(name) #name, (json_int_t)k->name
    return json_pack("{s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                     F(requests), F(create_requests), F(created), F(rate_limited),
                     "rate_limited_by", by, F(unauthorized), F(client_errors), F(server_errors),
                     F(dropped), F(duplicates), F(dup_idempotency), F(dup_content),
                     F(failed_targets), F(failed_events), F(lockout_extensions),
                     F(intent_checked), F(intent_violations));
#undef F
}

static int on_stats(void *app, h2o_req_t *req)
{
    struct sim *s = app;
    json_t *provs = json_object(), *keys = json_array();
    for (int i = 0; i < SIM_NPROV; i++) {
        json_t *o = counts_json(&s->ps[i].counts, sim_provs[i]);
        struct hook_stats hs;
        hook_get_stats(s->hook, i, &hs);
        json_object_set_new(o, "webhooks",
                            json_pack("{s:I,s:I,s:I,s:I,s:I}", "queued", (json_int_t)hs.queued,
                                      "delivered", (json_int_t)hs.delivered, "failed",
                                      (json_int_t)hs.failed, "retried", (json_int_t)hs.retried,
                                      "attempts", (json_int_t)hs.attempts));
        json_object_set_new(provs, sim_provs[i]->name, o);
    }
    for (size_t i = 0; i < s->cfg.nkeys; i++) {
        const struct sim_key *k = &s->cfg.keys[i];
        json_t *o = counts_json(&k->counts, sim_provs[k->prov]);
        json_object_set_new(o, "label", json_string(k->label));
        json_object_set_new(o, "provider", json_string(sim_provs[k->prov]->name));
        json_array_append_new(keys, o);
    }
    if (s->log)
        fflush(s->log);
    reply_json(req, 200,
               json_pack("{s:o,s:o,s:I,s:f}", "providers", provs, "keys", keys, "webhooks_pending",
                         (json_int_t)hook_pending(s->hook), "time_scale", s->opt.time_scale));
    return 0;
}

static json_t *faults_json(const struct sim_faults *f)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:b,s:I,s:I}", "error_ratio", f->error_ratio,
                     "error_after_create_ratio", f->error_after_create_ratio, "drop_ratio",
                     f->drop_ratio, "drop_after_create_ratio", f->drop_after_create_ratio,
                     "partial_failure_ratio", f->partial_failure_ratio, "webhook_fail_ratio",
                     f->webhook_fail_ratio, "webhook_duplicate_ratio", f->webhook_duplicate_ratio,
                     "webhook_loss_ratio", f->webhook_loss_ratio, "latency_ms", (json_int_t)f->latency_ms, "webhook_reorder", f->webhook_reorder,
                     "webhook_reorder_ms", (json_int_t)f->webhook_reorder_ms, "seed",
                     (json_int_t)f->seed);
}

static void faults_defaults(struct sim *s)
{
    memset(&s->faults, 0, sizeof s->faults);
    s->faults.webhook_reorder_ms = 200;
    s->faults.seed = s->opt.seed;
    s->rng = s->opt.seed;
}

/* Applies the fields present in `o`; returns the name of a bad field, or NULL. */
static const char *faults_apply(struct sim *s, json_t *o)
{
    static const struct {
        const char *name;
        size_t off;
    } ratios[] = {
        {"error_ratio", offsetof(struct sim_faults, error_ratio)},
        {"error_after_create_ratio", offsetof(struct sim_faults, error_after_create_ratio)},
        {"drop_ratio", offsetof(struct sim_faults, drop_ratio)},
        {"drop_after_create_ratio", offsetof(struct sim_faults, drop_after_create_ratio)},
        {"partial_failure_ratio", offsetof(struct sim_faults, partial_failure_ratio)},
        {"webhook_fail_ratio", offsetof(struct sim_faults, webhook_fail_ratio)},
        {"post_failed_ratio", offsetof(struct sim_faults, webhook_fail_ratio)},
        {"webhook_duplicate_ratio", offsetof(struct sim_faults, webhook_duplicate_ratio)},
        {"webhook_loss_ratio", offsetof(struct sim_faults, webhook_loss_ratio)},
    };
    struct sim_faults f = s->faults;
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++) {
        json_t *v = json_object_get(o, ratios[i].name);
        if (!v)
            continue;
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            return ratios[i].name;
        *(double *)((char *)&f + ratios[i].off) = json_number_value(v);
    }
    json_t *v;
    if ((v = json_object_get(o, "latency_ms"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000)
            return "latency_ms";
        f.latency_ms = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(o, "webhook_reorder_ms"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000)
            return "webhook_reorder_ms";
        f.webhook_reorder_ms = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(o, "webhook_reorder"))) {
        if (!json_is_boolean(v))
            return "webhook_reorder";
        f.webhook_reorder = json_is_true(v);
    }
    if ((v = json_object_get(o, "intent_db"))) {
        if (!json_is_string(v))
            return "intent_db";
        free(s->intent_db);
        s->intent_db = xstrdup(json_string_value(v));
        PQfinish(s->intent_conn);
        s->intent_conn = NULL;
    }
    if ((v = json_object_get(o, "seed"))) {
        if (!json_is_integer(v))
            return "seed";
        f.seed = (uint64_t)json_integer_value(v);
        s->rng = f.seed;
    }
    s->faults = f;
    return NULL;
}

static int on_faults(void *app, h2o_req_t *req)
{
    struct sim *s = app;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        json_error_t jerr;
        json_t *o = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
        const char *bad = json_is_object(o) ? faults_apply(s, o) : "body";
        json_decref(o);
        if (bad) {
            reply_json(req, 400, json_pack("{s:s,s:s}", "error", "invalid_faults", "field", bad));
            return 0;
        }
    }
    reply_json(req, 200, faults_json(&s->faults));
    return 0;
}

static void stores_clear(struct sim *s)
{
    for (int i = 0; i < SIM_NPROV; i++) {
        struct prov_state *ps = &s->ps[i];
        for (size_t p = 0; p < ps->nposts; p++) {
            free(ps->posts[p].account);
            free(ps->posts[p].reference);
            free(ps->posts[p].content);
        }
        free(ps->posts);
        map_finish(&ps->by_id);
        map_finish(&ps->seen);
        memset(ps, 0, sizeof *ps);
    }
}

static int on_reset(void *app, h2o_req_t *req)
{
    struct sim *s = app;
    json_t *root = s->cfg_json;
    json_incref(root);
    if (req->entity.len > 0) {
        json_error_t jerr;
        json_decref(root);
        root = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
        if (!root) {
            reply_json(req, 400,
                       json_pack("{s:s,s:s}", "error", "invalid_config", "message", jerr.text));
            return 0;
        }
    }
    struct sim_config cfg;
    char err[256];
    if (sim_config_load(root, s->opt.time_scale, &cfg, err, sizeof err) != 0) {
        json_decref(root);
        reply_json(req, 400, json_pack("{s:s,s:s}", "error", "invalid_config", "message", err));
        return 0;
    }
    sim_config_finish(&s->cfg);
    s->cfg = cfg;
    json_decref(s->cfg_json);
    s->cfg_json = root;
    stores_clear(s);
    faults_defaults(s);
    hook_reset(s->hook);
    if (s->log)
        fflush(s->log);
    reply_json(req, 200, json_pack("{s:b,s:I}", "ok", 1, "keys", (json_int_t)s->cfg.nkeys));
    return 0;
}

/* ---- lifecycle --------------------------------------------------------- */

static int is(h2o_req_t *req, const char *method, const char *path)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method)) &&
           h2o_memis(req->path_normalized.base, req->path_normalized.len, path, strlen(path));
}

/* Control endpoints first, everything else goes to the providers. */
static int on_request(void *app, h2o_req_t *req)
{
    if (is(req, "GET", "/_stats"))
        return on_stats(app, req);
    if (is(req, "POST", "/_reset"))
        return on_reset(app, req);
    if (is(req, "GET", "/_faults") || is(req, "POST", "/_faults"))
        return on_faults(app, req);
    return on_provider(app, req);
}

void sim_options_defaults(struct sim_options *o)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:0";
    o->time_scale = 1.0;
    o->count_rejected = 0;
    o->count_invalid = 1;
    o->jestha_extend_ms = 5000;
    o->webhook_attempts = 5;
    o->webhook_backoff_ms = 200;
    o->webhook_timeout_ms = 5000;
    o->seed = 1;
}

static json_t *load_config_json(const struct sim_options *o, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    if (o->config_path)
        root = json_load_file(o->config_path, 0, &jerr);
    else if (o->config_json)
        root = json_loads(o->config_json, 0, &jerr);
    else
        return json_pack("{s:[]}", "keys");
    if (!root)
        snprintf(err, errlen, "config %s: %s (line %d)",
                 o->config_path ? o->config_path : "(string)", jerr.text, jerr.line);
    return root;
}

struct sim *sim_start(const struct sim_options *o, char *err, size_t errlen)
{
    if (!(o->time_scale >= 1e-3)) {
        snprintf(err, errlen, "time scale must be >= 0.001");
        return NULL;
    }
    if (sim_dialect_parse(o->dialect) < 0) {
        snprintf(err, errlen, "dialect must be \"default\" or \"alt\"");
        return NULL;
    }
    struct sim *s = xcalloc(1, sizeof *s);
    s->opt = *o;
    s->cfg_json = load_config_json(o, err, errlen);
    if (!s->cfg_json || sim_config_load(s->cfg_json, o->time_scale, &s->cfg, err, errlen) != 0)
        goto fail;
    if (o->log_path) {
        s->log = fopen(o->log_path, "a");
        if (!s->log) {
            snprintf(err, errlen, "log %s: %s", o->log_path, strerror(errno));
            goto fail_cfg;
        }
        setvbuf(s->log, NULL, _IOFBF, 1 << 16);
    }
    if (getrandom(&s->nonce, sizeof s->nonce, 0) != sizeof s->nonce)
        s->nonce = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    faults_defaults(s);
    struct hook_options ho = {.max_attempts = o->webhook_attempts,
                              .backoff_ms = o->webhook_backoff_ms,
                              .timeout_ms = o->webhook_timeout_ms,
                              .max_inflight = 64,
                              .nclasses = SIM_NPROV};
    s->hook = hook_create(&ho);
    s->server = simhttp_start(o->listen, 4 << 20, on_request, on_loop_end, s, err, errlen);
    if (!s->server)
        goto fail_hook;
    return s;
fail_hook:
    hook_destroy(s->hook);
    if (s->log)
        fclose(s->log);
fail_cfg:
    sim_config_finish(&s->cfg);
fail:
    json_decref(s->cfg_json);
    free(s);
    return NULL;
}

int sim_port(const struct sim *s)
{
    return simhttp_port(s->server);
}

void sim_stop(struct sim *s)
{
    if (!s)
        return;
    simhttp_stop(s->server);
    hook_destroy(s->hook);
    if (s->log)
        fclose(s->log);
    PQfinish(s->intent_conn);
    free(s->intent_db);
    stores_clear(s);
    sim_config_finish(&s->cfg);
    json_decref(s->cfg_json);
    free(s);
}
