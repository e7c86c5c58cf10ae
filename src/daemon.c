/*
 * DESIGN: runs on the main thread. Blocks SIGTERM/SIGINT before any thread
 * starts, so every thread inherits the mask and the main thread alone takes
 * them with sigwait; shutdown is then ordinary code, not a signal handler.
 */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "db/migrate.h"
#include "http/api.h"
#include "http/intake.h"
#include "http/server.h"
#include "http/ui.h"
#include "metrics.h"
#include "outbox/outbox.h"
#include "scheduler/scheduler.h"
#include "util/log.h"

struct app {
    struct intake *intake;
    struct api *api;
};

static int on_healthz(void *arg, h2o_req_t *req)
{
    static const char body[] = "{\"status\":\"ok\"}";
    http_send_json(req, 200, "OK", body, sizeof body - 1);
    return 0;
}

/* Ready: the schema was current at start and the database answers now (live, on an API worker). */
static int on_readyz(void *arg, h2o_req_t *req)
{
    struct app *app = arg;
    if (!intake_ready(app->intake)) {
        http_send_error(req, 503, "unavailable", "the database is unreachable");
        return 0;
    }
    return api_readyz(app->api, req);
}

static int on_metrics(void *arg, h2o_req_t *req)
{
    size_t len;
    char *text = met_render(&len);
    char *body = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(body, text, len);
    free(text);
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    h2o_send_inline(req, body, len);
    return 0;
}

/* The web page and its files (http/ui.h). */
static int on_ui(void *arg, h2o_req_t *req)
{
    return ui_serve(req);
}

static int on_webhook(void *arg, h2o_req_t *req)
{
    struct app *app = arg;
    return intake_webhook(app->intake, req);
}

/* The calendar API (/v1): each route hands its request to the API module. */
#define API_ROUTE(name, fn)                                                                        \
    static int name(void *arg, h2o_req_t *req)                                                     \
    {                                                                                              \
        return fn(((struct app *)arg)->api, req);                                                  \
    }
API_ROUTE(on_api_posts_create, api_posts_create)
API_ROUTE(on_api_posts_list, api_posts_list)
API_ROUTE(on_api_post_get, api_post_get)
API_ROUTE(on_api_post_patch, api_post_patch)
API_ROUTE(on_api_post_delete, api_post_delete)
API_ROUTE(on_api_limits, api_limits)
API_ROUTE(on_api_plan, api_plan)
API_ROUTE(on_api_events, api_events)
API_ROUTE(on_api_keys, api_keys)
API_ROUTE(on_api_keys_pause, api_keys_pause)
API_ROUTE(on_api_keys_resume, api_keys_resume)
API_ROUTE(on_api_deliveries, api_deliveries)
API_ROUTE(on_api_deliveries_replay, api_deliveries_replay)
API_ROUTE(on_api_subscriptions, api_subscriptions)
API_ROUTE(on_api_subscribe, api_subscribe)
API_ROUTE(on_api_unsubscribe, api_unsubscribe)
API_ROUTE(on_api_targets_retry, api_targets_retry)
API_ROUTE(on_api_targets_cancel, api_targets_cancel)

static const struct http_route routes[] = {
    {"GET", "/", on_ui},
    {"GET", "/ui/", on_ui},
    {"GET", "/healthz", on_healthz},
    {"GET", "/readyz", on_readyz},
    {"GET", "/metrics", on_metrics},
    {"POST", "/webhooks/", on_webhook},
    {"POST", "/v1/posts", on_api_posts_create},
    {"GET", "/v1/posts", on_api_posts_list},
    {"GET", "/v1/posts/", on_api_post_get},
    {"PATCH", "/v1/posts/", on_api_post_patch},
    {"DELETE", "/v1/posts/", on_api_post_delete},
    {"GET", "/v1/limits", on_api_limits},
    {"GET", "/v1/plan", on_api_plan},
    {"GET", "/v1/events", on_api_events},
    {"GET", "/v1/keys", on_api_keys},
    {"POST", "/v1/keys/pause", on_api_keys_pause},
    {"POST", "/v1/keys/resume", on_api_keys_resume},
    {"GET", "/v1/deliveries", on_api_deliveries},
    {"POST", "/v1/deliveries/replay", on_api_deliveries_replay},
    {"GET", "/v1/subscriptions", on_api_subscriptions},
    {"POST", "/v1/subscriptions", on_api_subscribe},
    {"DELETE", "/v1/subscriptions/", on_api_unsubscribe},
    {"POST", "/v1/targets/retry", on_api_targets_retry},
    {"POST", "/v1/targets/cancel", on_api_targets_cancel},
};

const struct http_route *daemon_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

static int check_schema(const struct config *cfg)
{
    char err[512], safe[512];
    PGconn *c = db_connect(cfg->database_url, err, sizeof err);
    if (!c) {
        log_error("cannot connect to the database",
                  LOG_STR("db", log_redact_conninfo(cfg->database_url, safe, sizeof safe)),
                  LOG_STR("reason", err));
        return -1;
    }
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    int rc = mig_check(c, files, n, err, sizeof err);
    if (rc != 0) {
        log_error("refusing to start", LOG_STR("reason", err));
    }
    PQfinish(c);
    return rc;
}

static struct scheduler *start_scheduler(const struct config *cfg)
{
    static char instance[300];
    struct sched_options o;
    sched_options_init(&o);
    if (*cfg->instance_id) {
        snprintf(instance, sizeof instance, "%s", cfg->instance_id);
    } else {
        char host[256] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(instance, sizeof instance, "%s:%d", host, (int)getpid());
    }
    o.conninfo = *cfg->scheduler_database_url ? cfg->scheduler_database_url : cfg->database_url;
    o.instance_id = instance;
    o.max_in_flight = cfg->max_in_flight;
    o.request_timeout_ms = cfg->request_timeout_ms;
    o.max_attempts = cfg->max_attempts;
    o.backoff_ms = cfg->backoff_ms;
    o.catchup_ms = cfg->catchup_ms;
    o.unconfirmed_retry_ms = cfg->unconfirmed_retry_ms;
    o.lease_ttl_ms = cfg->lease_ttl_ms;
    o.skew_ms = cfg->skew_ms;
    o.claim_ahead_ms = cfg->claim_ahead_ms;
    o.shutdown_grace_ms = cfg->shutdown_grace_ms;
    log_info("scheduler starting", LOG_STR("instance", instance));
    return sched_start(&o);
}

static struct outbox *start_outbox(const struct config *cfg)
{
    struct outbox_options o;
    outbox_options_init(&o);
    o.conninfo = *cfg->scheduler_database_url ? cfg->scheduler_database_url : cfg->database_url;
    o.concurrency = cfg->outbox_concurrency;
    o.timeout_ms = cfg->outbox_timeout_ms;
    o.backoff_ms = cfg->outbox_backoff_ms;
    o.backoff_max_ms = cfg->outbox_backoff_max_ms;
    o.retry_for_ms = cfg->outbox_retry_for_ms;
    o.poll_ms = cfg->outbox_poll_ms;
    o.shutdown_grace_ms = cfg->shutdown_grace_ms;
    struct outbox *ob = outbox_start(&o);
    if (!ob)
        log_error("cannot start the outbox thread: outgoing webhooks wait for another instance");
    return ob;
}

int daemon_serve(const struct config *cfg)
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (check_schema(cfg) != 0)
        return 1;

    struct intake_options io = {.store = {.conninfo = cfg->database_url,
                                          .batch_max = cfg->webhook_batch_max,
                                          .writers = cfg->webhook_writers,
                                          .gather_events = cfg->webhook_gather_events,
                                          .gather_ms = cfg->webhook_gather_ms,
                                          .sweep_ms = cfg->webhook_sweep_ms,
                                          .sweep_window_s = cfg->webhook_sweep_window_s,
                                          .secrets_refresh_ms = cfg->webhook_reload_ms},
                                .tolerance_s = cfg->webhook_tolerance_s,
                                .clock = clk_real};
    struct api_options ao = {cfg->database_url, cfg->api_tokens, cfg->api_workers,
                             cfg->api_batch_max, cfg->skew_ms};
    struct app app = {intake_start(&io), api_start(&ao)};

    char err[256];
    struct http_options opt = {cfg->listen, cfg->http_threads, (size_t)cfg->body_limit,
                               cfg->shutdown_grace_ms};
    struct http_server *http =
        http_server_start(&opt, routes, sizeof routes / sizeof routes[0], &app, err, sizeof err);
    if (!http) {
        log_error("cannot start the HTTP server", LOG_STR("reason", err));
        intake_stop(app.intake);
        api_stop(app.api);
        intake_destroy(app.intake);
        api_destroy(app.api);
        return 1;
    }
    log_info("serving", LOG_STR("listen", cfg->listen), LOG_INT("port", http_server_port(http)),
             LOG_INT("threads", cfg->http_threads));
    struct scheduler *sched = cfg->scheduler ? start_scheduler(cfg) : NULL;
    struct outbox *outbox = cfg->outbox ? start_outbox(cfg) : NULL;

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info("shutting down", LOG_STR("signal", sig == SIGTERM ? "TERM" : "INT"));
    /* The scheduler first (it finishes its requests), then the intake and
     * the API workers (they answer what is queued while the loops still
     * run, and 503 whatever comes after), then the loops; only then, with
     * no loop left to call them, are the intake and the API freed. */
    sched_stop(sched);
    outbox_stop(outbox);
    intake_stop(app.intake);
    api_stop(app.api);
    http_server_stop(http);
    intake_destroy(app.intake);
    api_destroy(app.api);
    log_info("stopped");
    return 0;
}
