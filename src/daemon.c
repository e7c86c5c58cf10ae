/*
 * DESIGN: runs on the main thread. Blocks SIGTERM/SIGINT before any thread
 * starts, so every thread inherits the mask and the main thread alone takes
 * them with sigwait; shutdown is then ordinary code, not a signal handler.
 */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "db/migrate.h"
#include "http/server.h"
#include "util/log.h"

static int on_healthz(void *app, h2o_req_t *req)
{
    static const char body[] = "{\"status\":\"ok\"}";
    http_send_json(req, 200, "OK", body, sizeof body - 1);
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/healthz", on_healthz},
};

static int check_schema(const struct config *cfg)
{
    char err[512], safe[512], qdb[600], qerr[600];
    PGconn *c = db_connect(cfg->database_url, err, sizeof err);
    if (!c) {
        log_error("cannot connect to the database", "db=%s reason=%s",
                  log_quote(log_redact_conninfo(cfg->database_url, safe, sizeof safe), qdb,
                            sizeof qdb),
                  log_quote(err, qerr, sizeof qerr));
        return -1;
    }
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    int rc = mig_check(c, files, n, err, sizeof err);
    if (rc != 0) {
        char q[600];
        log_error("refusing to start", "reason=%s", log_quote(err, q, sizeof q));
    }
    PQfinish(c);
    return rc;
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

    char err[256], q[300];
    struct http_options opt = {cfg->listen, cfg->http_threads, (size_t)cfg->body_limit,
                               cfg->shutdown_grace_ms};
    struct http_server *http = http_server_start(&opt, routes, sizeof routes / sizeof routes[0],
                                                 NULL, err, sizeof err);
    if (!http) {
        log_error("cannot start the HTTP server", "reason=%s", log_quote(err, q, sizeof q));
        return 1;
    }
    log_info("serving", "listen=%s port=%d threads=%d", cfg->listen, http_server_port(http),
             cfg->http_threads);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info("shutting down", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
    http_server_stop(http);
    log_info("stopped", NULL);
    return 0;
}
