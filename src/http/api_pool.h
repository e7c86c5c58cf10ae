/*
 * api_pool: the calendar API's worker threads. A loop thread hands a job
 * (api_pool_submit) to the pool and returns at once; a worker, with its own
 * PGconn, runs the job's SQL and posts the answer back to the request's loop,
 * which sends it if the request is still there. While the database is
 * unreachable, jobs are answered 503 without running.
 */
#ifndef POSTPACE_HTTP_API_POOL_H
#define POSTPACE_HTTP_API_POOL_H

#include <h2o.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "http/server.h"

struct api_pool;
struct api_job;

/* Runs on a worker: does the SQL on `c` and sets the answer with api_job_reply*. */
typedef void (*api_work_fn)(PGconn *c, struct api_job *j);

/*
 * Runs on a worker: jobs[0..n) of one kind, gathered from the queue to be
 * done together (group commit: one transaction, one WAL flush for all).
 * Sets every job's answer; the answers go out only after it returns, so
 * none is sent before its commit.
 */
typedef void (*api_batch_fn)(PGconn *c, struct api_job **jobs, size_t n);

struct api_pool_options {
    const char *conninfo;          /* each worker opens its own connection */
    int workers;                   /* threads, >= 1 */
    int batch_max;                 /* most jobs a batch function gets at once (>= 1) */
    const char *const *prepared;   /* sql/ names prepared on every connection (NULL-ended):
                                      what jobs run with db_exec_named */
};

/*
 * Starts the workers; each connects up front, and reconnects with backoff
 * when its connection is lost. Never fails for a down database.
 */
struct api_pool *api_pool_start(const struct api_pool_options *opt);

/*
 * Answers every queued job, joins the workers. Call while the loops still
 * run: api_pool_submit answers 503 from then on. NULL: no-op.
 */
void api_pool_stop(struct api_pool *p);

/* Frees a stopped pool, once no loop can submit to it (after http_server_stop). NULL: no-op. */
void api_pool_destroy(struct api_pool *p);

/* True while at least one worker holds a working connection. Any thread. */
int api_pool_ready(const struct api_pool *p);

/*
 * Loop thread: queues `work` for `req` with `input` (owned by the job from
 * now on, freed with free_input after the answer). Answers 503 itself when
 * the pool is stopping or has no database.
 */
void api_pool_submit(struct api_pool *p, h2o_req_t *req, api_work_fn work, void *input,
                     void (*free_input)(void *));

/*
 * The same for a job that may be done together with others of its kind: a
 * worker that takes it also takes every job queued behind it with the same
 * `batch` function, up to batch_max, and runs them in one call.
 */
void api_pool_submit_batched(struct api_pool *p, h2o_req_t *req, api_batch_fn batch, void *input,
                             void (*free_input)(void *));

/* The job's input (worker side). */
void *api_job_input(struct api_job *j);

/* Worker side: the answer. `body` is JSON text, copied. */
void api_job_reply(struct api_job *j, int status, const char *body, size_t len);
/* Takes a reference of `root` (json_decref'd here). */
void api_job_reply_json(struct api_job *j, int status, json_t *root);
/* The error envelope; `details` (may be NULL) is taken. */
void api_job_error(struct api_job *j, int status, const char *code, const char *message,
                   json_t *details);

/* Loop side: the error envelope, with details (taken, may be NULL). */
void api_send_error(h2o_req_t *req, int status, const char *code, const char *message,
                    json_t *details);

#endif
