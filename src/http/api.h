/*
 * api: the calendar API under /v1 (JSON, bearer tokens). Handlers run on
 * HTTP loop threads and never block: they check the token, read the request
 * and hand the database work to the API worker pool (api_pool.h), which
 * answers later through the request's loop.
 */
#ifndef POSTPACE_HTTP_API_H
#define POSTPACE_HTTP_API_H

#include <h2o.h>

struct api;

struct api_options {
    const char *conninfo; /* the workers' database */
    const char *tokens;   /* space-separated bearer tokens; empty: every request gets 401 */
    int workers;          /* worker threads (each with its own connection) */
    int batch_max;        /* most creates committed together (1: one transaction each) */
    int skew_ms;          /* the scheduler's limiter skew: limits and plan predict it */
};

/* Starts the worker pool. Logs once when no token is configured (the API is then disabled). */
struct api *api_start(const struct api_options *opt);

/*
 * Answers what is queued and stops the workers; call while the loops still
 * run (requests get 503 from then on). NULL: no-op.
 */
void api_stop(struct api *a);

/* Frees a stopped API once no loop can call a handler (after http_server_stop). NULL: no-op. */
void api_destroy(struct api *a);

/* True while a worker holds a working connection. */
int api_ready(const struct api *a);

/*
 * GET /readyz (loop thread): a worker runs SELECT 1 on its connection and
 * answers 200 only if it succeeds, so a database that just went away gets
 * 503 at once instead of a cached verdict; no bearer token needed.
 */
int api_readyz(struct api *a, h2o_req_t *req);

/* The route handlers (loop thread). Each returns 0. */
int api_posts_create(struct api *a, h2o_req_t *req); /* POST /v1/posts */
int api_posts_list(struct api *a, h2o_req_t *req);   /* GET /v1/posts */
int api_post_get(struct api *a, h2o_req_t *req);     /* GET /v1/posts/{id} */
int api_post_patch(struct api *a, h2o_req_t *req);   /* PATCH /v1/posts/{id} */
int api_post_delete(struct api *a, h2o_req_t *req);  /* DELETE /v1/posts/{id} */
int api_limits(struct api *a, h2o_req_t *req);       /* GET /v1/limits */
int api_plan(struct api *a, h2o_req_t *req);         /* GET /v1/plan */
int api_events(struct api *a, h2o_req_t *req);       /* GET /v1/events */
int api_keys(struct api *a, h2o_req_t *req);         /* GET /v1/keys */
int api_keys_pause(struct api *a, h2o_req_t *req);   /* POST /v1/keys/pause */
int api_keys_resume(struct api *a, h2o_req_t *req);  /* POST /v1/keys/resume */
/* Outgoing webhooks (api_outbox.c). */
int api_deliveries(struct api *a, h2o_req_t *req);         /* GET /v1/deliveries */
int api_deliveries_replay(struct api *a, h2o_req_t *req);  /* POST /v1/deliveries/replay */
int api_subscriptions(struct api *a, h2o_req_t *req);      /* GET /v1/subscriptions */
int api_subscribe(struct api *a, h2o_req_t *req);          /* POST /v1/subscriptions */
int api_unsubscribe(struct api *a, h2o_req_t *req);        /* DELETE /v1/subscriptions/{id} */
int api_targets_retry(struct api *a, h2o_req_t *req);  /* POST /v1/targets/retry */
int api_targets_cancel(struct api *a, h2o_req_t *req); /* POST /v1/targets/cancel */

#endif
