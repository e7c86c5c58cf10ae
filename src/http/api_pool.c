/*
 * DESIGN: a fixed set of worker threads sharing one job queue (redis
 * bio.c). Each worker owns its PGconn; no loop thread ever touches one.
 * The loop side copies what the job needs out of the request before it
 * queues it, and holds the request through http_later: if the client goes
 * away first the answer is dropped instead of being sent to freed memory.
 */
#include "http/api_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db/link.h"
#include "metrics.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct api_job {
    struct http_later later; /* the request, answered on its loop */
    api_work_fn work;        /* one of work and batch */
    api_batch_fn batch;
    void *input;
    void (*free_input)(void *);
    int status;
    char *body;
    size_t len;
    struct api_job *next;
};

struct worker {
    struct api_pool *pool;
    pthread_t tid;
    struct db_link db; /* its connection, reconnected with backoff */
};

struct api_pool {
    struct api_pool_options opt;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct api_job *head, **tail; /* under lock */
    int stopping;                 /* under lock */
    atomic_int connected;         /* workers holding a working connection */
    atomic_int queued;            /* jobs waiting for a worker (a gauge) */
    int nworkers;
    struct worker *workers;
};

/* ---- replies ---- */

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

static json_t *envelope(const char *code, const char *message, json_t *details)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    json_object_set_new(err, "details", details ? details : json_object());
    return json_pack("{s:o}", "error", err);
}

void *api_job_input(struct api_job *j)
{
    return j->input;
}

void api_job_reply(struct api_job *j, int status, const char *body, size_t len)
{
    free(j->body);
    j->status = status;
    j->body = xmalloc(len ? len : 1);
    memcpy(j->body, body, len);
    j->len = len;
}

void api_job_reply_json(struct api_job *j, int status, json_t *root)
{
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    free(j->body);
    j->status = status;
    j->body = text;
    j->len = strlen(text);
}

void api_job_error(struct api_job *j, int status, const char *code, const char *message,
                   json_t *details)
{
    api_job_reply_json(j, status, envelope(code, message, details));
}

static void send_body(h2o_req_t *req, int status, const char *text, size_t len)
{
    char *body = h2o_mem_alloc_pool(&req->pool, len ? len : 1);
    memcpy(body, text, len);
    if (status == 401)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer realm=\"postpace\""));
    if (status == 503)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("5"));
    http_send_json(req, status, reason_of(status), body, len);
}

void api_send_error(h2o_req_t *req, int status, const char *code, const char *message,
                    json_t *details)
{
    json_t *root = envelope(code, message, details);
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    send_body(req, status, text, strlen(text));
    free(text);
}

static void unavailable(h2o_req_t *req)
{
    api_send_error(req, 503, "unavailable", "the database is unavailable; retry later", NULL);
}

/* ---- loop side ---- */

static void job_free(struct api_job *j)
{
    if (j->free_input)
        j->free_input(j->input);
    free(j->body);
    free(j);
}

/* Runs on the loop thread that received the request. */
static void job_answer(struct http_deferred *d)
{
    struct api_job *j = H2O_STRUCT_FROM_MEMBER(struct api_job, later.d, d);
    h2o_req_t *req = http_later_take(&j->later);
    if (req)
        send_body(req, j->status, j->body, j->len);
    job_free(j);
}

static int enqueue(struct api_pool *p, struct api_job *j)
{
    pthread_mutex_lock(&p->lock);
    int stopping = p->stopping;
    if (!stopping) {
        *p->tail = j;
        p->tail = &j->next;
        atomic_fetch_add(&p->queued, 1);
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return stopping ? -1 : 0;
}

static void submit(struct api_pool *p, h2o_req_t *req, api_work_fn work, api_batch_fn batch,
                   void *input, void (*free_input)(void *))
{
    struct api_job *j = xcalloc(1, sizeof *j);
    j->work = work;
    j->batch = batch;
    j->input = input;
    j->free_input = free_input;
    if (!atomic_load(&p->connected)) {
        job_free(j);
        unavailable(req);
        return;
    }
    http_later_hold(&j->later, req, job_answer);
    if (enqueue(p, j) != 0) {
        http_later_drop(&j->later);
        job_free(j);
        unavailable(req);
    }
}

void api_pool_submit(struct api_pool *p, h2o_req_t *req, api_work_fn work, void *input,
                     void (*free_input)(void *))
{
    submit(p, req, work, NULL, input, free_input);
}

void api_pool_submit_batched(struct api_pool *p, h2o_req_t *req, api_batch_fn batch, void *input,
                             void (*free_input)(void *))
{
    submit(p, req, NULL, batch, input, free_input);
}

/* ---- worker side ---- */

static void connection_lost(struct worker *w, const char *why)
{
    log_warn("API worker lost the database; answering 503 until it is back",
             LOG_STR("reason", why));
    atomic_fetch_sub(&w->pool->connected, 1);
    db_link_close(&w->db);
}

/* Connects when due (db/link.h: backoff from 100 ms to 5 s). */
static void maintain_connection(struct worker *w)
{
    if (db_link_broken(&w->db))
        connection_lost(w, "connection closed");
    char err[512];
    switch (db_link_ensure(&w->db, clk_mono_ms(clk_real), err, sizeof err)) {
    case DB_LINK_NEW: atomic_fetch_add(&w->pool->connected, 1); break;
    case DB_LINK_UNPREPARED:
        log_error("API worker cannot prepare its statements", LOG_STR("reason", err));
        break;
    case DB_LINK_DOWN:
    case DB_LINK_UP: break;
    }
}

/* Runs the jobs of the list j (one, or a batch of one kind) and posts every answer. */
static void run_jobs(struct worker *w, struct api_job *j)
{
    struct api_job *batch[1024];
    size_t n = 0;
    for (struct api_job *k = j; k && n < sizeof batch / sizeof batch[0]; k = k->next)
        batch[n++] = k;
    if (!w->db.conn) {
        for (size_t i = 0; i < n; i++)
            api_job_error(batch[i], 503, "unavailable", "the database is unavailable; retry later",
                          NULL);
    } else {
        if (j->batch)
            j->batch(w->db.conn, batch, n);
        else
            j->work(w->db.conn, j);
        int lost = PQstatus(w->db.conn) != CONNECTION_OK;
        if (lost)
            connection_lost(w, "connection closed during a request");
        for (size_t i = 0; i < n; i++) {
            if (lost)
                api_job_error(batch[i], 503, "unavailable",
                              "the database is unavailable; retry later", NULL);
            else if (!batch[i]->body)
                api_job_error(batch[i], 500, "internal", "the request could not be completed",
                              NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        batch[i]->next = NULL;
        http_later_post(&batch[i]->later);
    }
}

/* Takes one job, waiting at most wait_ms; *stop when stopping and drained.
 * A job with a batch function comes with every job queued behind it that
 * has the same one (up to batch_max), linked through next. */
static struct api_job *take(struct api_pool *p, uint64_t wait_ms, int *stop)
{
    pthread_mutex_lock(&p->lock);
    if (!p->head && !p->stopping) {
        struct timespec ts = clk_cond_deadline(wait_ms);
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    struct api_job *j = p->head;
    if (j) {
        p->head = j->next;
        j->next = NULL;
        struct api_job **last = &j->next;
        int room = p->opt.batch_max > 1024 ? 1023 : p->opt.batch_max - 1;
        for (struct api_job **q = &p->head; j->batch && room > 0 && *q;) {
            if ((*q)->batch != j->batch) {
                q = &(*q)->next;
                continue;
            }
            *last = *q;
            *q = (*q)->next;
            last = &(*last)->next;
            *last = NULL;
            room--;
        }
        p->tail = &p->head;
        while (*p->tail)
            p->tail = &(*p->tail)->next;
        for (struct api_job *k = j; k; k = k->next)
            atomic_fetch_sub(&p->queued, 1);
    }
    *stop = p->stopping && !j;
    pthread_mutex_unlock(&p->lock);
    return j;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        maintain_connection(w);
        int stop;
        struct api_job *j = take(w->pool, w->db.conn ? 1000 : 100, &stop);
        if (stop)
            break;
        if (j)
            run_jobs(w, j);
        else if (w->db.conn)
            PQconsumeInput(w->db.conn); /* notices a server that went away while idle */
    }
    if (w->db.conn)
        atomic_fetch_sub(&w->pool->connected, 1);
    db_link_close(&w->db);
    return NULL;
}

static void emit_queue(void *arg, void (*emit)(void *sink, const char *text), void *sink)
{
    struct api_pool *p = arg;
    char text[256];
    snprintf(text, sizeof text,
             "# HELP postpace_api_queue_depth API requests waiting for a worker\n"
             "# TYPE postpace_api_queue_depth gauge\n"
             "postpace_api_queue_depth %d\n",
             atomic_load(&p->queued));
    emit(sink, text);
}

struct api_pool *api_pool_start(const struct api_pool_options *opt)
{
    struct api_pool *p = xcalloc(1, sizeof *p);
    p->opt = *opt;
    p->nworkers = opt->workers > 0 ? opt->workers : 1;
    p->opt.batch_max = opt->batch_max > 0 ? opt->batch_max : 1;
    p->tail = &p->head;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->workers = xcalloc((size_t)p->nworkers, sizeof *p->workers);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        db_link_init(&w->db, p->opt.conninfo, p->opt.prepared);
        /* Connect up front so the API starts ready when the database is. */
        maintain_connection(w);
        pthread_create(&w->tid, NULL, worker_main, w);
    }
    met_register_collector(emit_queue, p);
    return p;
}

void api_pool_stop(struct api_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i].tid, NULL);
}

void api_pool_destroy(struct api_pool *p)
{
    if (!p)
        return;
    met_unregister_collector(emit_queue, p);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->workers);
    free(p);
}

int api_pool_ready(const struct api_pool *p)
{
    return p && atomic_load(&p->connected) > 0;
}
