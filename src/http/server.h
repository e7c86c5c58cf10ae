/*
 * http/server: the h2o HTTP/1.1 server. N event-loop threads share one
 * listening socket and take its connections in turn; requests are routed by
 * a table the caller provides.
 * Handlers run on a loop thread and must not block it.
 */
#ifndef POSTPACE_HTTP_SERVER_H
#define POSTPACE_HTTP_SERVER_H

#include <h2o.h>
#include <stddef.h>

struct http_server;

/* A handler answers `req` (now or later) and returns 0. */
typedef int (*http_handler_fn)(void *app, h2o_req_t *req);

struct http_route {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* exact path, or a prefix when it ends with '/' (but "/" itself is exact) */
    http_handler_fn fn;
};

struct http_options {
    const char *listen;  /* "host:port"; port 0 picks a free one */
    int threads;         /* event-loop threads, >= 1 */
    size_t body_limit;   /* larger bodies get 413 */
    int grace_ms;        /* how long stop waits for requests in progress */
};

/*
 * Binds, then starts the loop threads. Returns NULL with a reason in err when
 * the address cannot be bound. `routes` and `app` must outlive the server.
 */
struct http_server *http_server_start(const struct http_options *opt,
                                      const struct http_route *routes, size_t nroutes, void *app,
                                      char *err, size_t errlen);

/* The bound TCP port (useful with port 0). */
int http_server_port(const struct http_server *s);

/*
 * Accepts that failed for want of descriptors or memory. Each pauses that
 * loop's accepting for 100 ms (connections wait in the backlog) rather than
 * spin on a listener that stays readable.
 */
unsigned http_server_accept_errors(const struct http_server *s);

/* Stops accepting, wakes and joins the loop threads, frees everything. NULL is a no-op. */
void http_server_stop(struct http_server *s);

/*
 * Frees an event loop as its thread ends, once its context `ctx` has been
 * disposed (h2o_context_dispose) and no timeout is linked on it: the
 * context's queue, the loop and the sockets closed on it, and this thread's
 * spare socket buffers, so a stop leaves nothing LeakSanitizer can see but
 * libh2o's own static pool chunks (tests/lsan.supp). Also used by the
 * simulator's server.
 */
void http_loop_free(h2o_context_t *ctx, h2o_evloop_t *loop);

/*
 * Answering later, from another thread. On the loop thread, http_later_hold
 * ties a struct http_later (embedded in the caller's job) to the request:
 * it records the request's loop and puts a guard in the request's pool, so
 * a request that goes away first (the client hung up) only detaches the
 * job. Any thread then calls http_later_post; `run` is called on that loop
 * thread, where http_later_take returns the request to answer, or NULL if it
 * is gone. http_later_drop undoes a hold that will never be posted.
 */
struct http_deferred {
    h2o_multithread_message_t super;
    void (*run)(struct http_deferred *d);
};
struct http_later {
    struct http_deferred d;
    h2o_multithread_receiver_t *receiver;
    struct http_later_guard *guard;
    h2o_req_t *req;
};
void http_later_hold(struct http_later *l, h2o_req_t *req, void (*run)(struct http_deferred *d));
void http_later_post(struct http_later *l);
h2o_req_t *http_later_take(struct http_later *l);
void http_later_drop(struct http_later *l);

/* Sends `body` with a status and Content-Type: application/json. */
void http_send_json(h2o_req_t *req, int status, const char *reason, const char *body, size_t len);

/*
 * Sends the error envelope {"error":{"code":..,"message":..[,"details":{field: reason}]}}
 * with `status`. `field` (may be NULL) names the offending field in details.
 */
void http_send_error(h2o_req_t *req, int status, const char *code, const char *message);
void http_send_field_error(h2o_req_t *req, int status, const char *code, const char *message,
                           const char *field, const char *reason);

#endif
