/*
 * DESIGN: owns the listening socket, one h2o context and evloop per thread,
 * and the route table. Each loop thread accepts on its own dup() of the
 * listener (accept4 fails with EAGAIN when another thread won the race) and
 * deals the connections out round robin, handing another loop's share over
 * through that loop's multithread queue. Whichever loop woke first used to
 * keep the connection: a burst of connections could all land on one loop,
 * which then did all the HTTP work while the other idled (webhook intake ran
 * 10% slower in such runs). Stopping sends each loop a message through its
 * multithread queue, so loops sleep until there is work and wake at once to
 * stop; no loop drains (and disposes of its queue) before every loop has
 * closed its listener and every stop message has been sent, so nothing is
 * sent to a loop that is going away.
 */
#include "http/server.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xmalloc.h"

struct loop_thread {
    struct http_server *server;
    pthread_t tid;
    int fd;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_multithread_receiver_t wake;
    struct http_deferred stop_msg; /* run == NULL: only wakes the loop */
    h2o_socket_t *listener;
    h2o_timeout_t pause; /* accepting paused after running out of descriptors */
    h2o_timeout_entry_t resume;
    int pause_told; /* the pause was logged; cleared by the next accept */
    pthread_mutex_t ready_lock;
    pthread_cond_t ready_cond;
    int ready;
};

enum { PAUSE_MS = 100 };

struct route_handler {
    h2o_handler_t super;
    struct http_server *server;
};

struct http_server {
    h2o_globalconf_t config;
    const struct http_route *routes;
    size_t nroutes;
    void *app;
    int listen_fd;
    int port;
    atomic_int stopping;
    atomic_int listeners_closed; /* loops that no longer accept */
    atomic_int told;             /* every loop has been sent its stop message */
    atomic_uint next_loop;       /* round robin of accepted connections */
    atomic_uint accept_errors;   /* accepts that failed for want of resources */
    int grace_ms;
    int nthreads;
    struct loop_thread *threads;
};

void http_send_json(h2o_req_t *req, int status, const char *reason, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, len);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

void http_send_field_error(h2o_req_t *req, int status, const char *code, const char *message,
                           const char *field, const char *reason)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (field)
        json_object_set_new(err, "details", json_pack("{s:s}", field, reason));
    json_t *root = json_pack("{s:o}", "error", err);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    size_t n = strlen(text);
    char *body = h2o_mem_alloc_pool(&req->pool, n);
    memcpy(body, text, n);
    free(text);
    http_send_json(req, status, reason_of(status), body, n);
}

void http_send_error(h2o_req_t *req, int status, const char *code, const char *message)
{
    http_send_field_error(req, status, code, message, NULL, NULL);
}

static int path_matches(const struct http_route *r, h2o_iovec_t path)
{
    size_t n = strlen(r->path);
    if (n > 1 && r->path[n - 1] == '/')
        return path.len > n && memcmp(path.base, r->path, n) == 0;
    return path.len == n && memcmp(path.base, r->path, n) == 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct http_server *s = ((struct route_handler *)self)->server;
    /* Route on the path without its query string. */
    h2o_iovec_t path = req->path_normalized;
    int path_known = 0;
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct http_route *r = &s->routes[i];
        if (!path_matches(r, path))
            continue;
        path_known = 1;
        if (h2o_memis(req->method.base, req->method.len, r->method, strlen(r->method)))
            return r->fn(s->app, req);
    }
    if (path_known)
        http_send_error(req, 405, "method_not_allowed", "method not allowed on this path");
    else
        http_send_error(req, 404, "not_found", "no such route");
    return 0;
}

/* Serves an accepted connection on loop t (h2o_evloop_socket_accept's set-up). */
static void adopt(struct loop_thread *t, int fd)
{
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    h2o_accept(&t->accept_ctx,
               h2o_evloop_socket_create(t->loop, fd, H2O_SOCKET_FLAG_IS_ACCEPTED_CONNECTION));
}

/* A connection one loop accepted for another. */
struct handoff {
    struct http_deferred d;
    struct loop_thread *to;
    int fd;
};

static void on_handoff(struct http_deferred *d)
{
    struct handoff *h = H2O_STRUCT_FROM_MEMBER(struct handoff, d, d);
    if (atomic_load(&h->to->server->stopping))
        close(h->fd); /* as if it had come after the listener closed */
    else
        adopt(h->to, h->fd);
    free(h);
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void on_resume(h2o_timeout_entry_t *entry)
{
    struct loop_thread *t = H2O_STRUCT_FROM_MEMBER(struct loop_thread, resume, entry);
    h2o_socket_read_start(t->listener, on_accept);
}

/*
 * Out of descriptors (or memory), the pending connection stays in the
 * backlog and the listener stays readable: accepting again at once would
 * spin the loop until something closes. Wait PAUSE_MS instead, serving the
 * connections already open, and warn once until an accept succeeds.
 */
static void pause_accepting(struct loop_thread *t, int err)
{
    atomic_fetch_add(&t->server->accept_errors, 1);
    if (!t->pause_told) {
        t->pause_told = 1;
        log_warn("cannot accept connections; pausing", LOG_STR("reason", strerror(err)),
                 LOG_INT("pause_ms", PAUSE_MS));
    }
    h2o_socket_read_stop(t->listener);
    h2o_timeout_link(t->loop, &t->pause, &t->resume);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err)
        return;
    struct loop_thread *t = listener->data;
    struct http_server *s = t->server;
    int fd = accept4(t->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            pause_accepting(t, errno);
        return; /* or another loop won it */
    }
    t->pause_told = 0;
    struct loop_thread *to =
        &s->threads[atomic_fetch_add(&s->next_loop, 1) % (unsigned)s->nthreads];
    if (to == t) {
        adopt(t, fd);
        return;
    }
    struct handoff *h = xcalloc(1, sizeof *h); /* an unlinked message */
    h->d.run = on_handoff;
    h->to = to;
    h->fd = fd;
    h2o_multithread_send_message(&to->wake, &h->d.super);
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        struct http_deferred *d = H2O_STRUCT_FROM_MEMBER(struct http_deferred, super.link,
                                                         messages->next);
        h2o_linklist_unlink(&d->super.link);
        if (d->run)
            d->run(d);
    }
}

/* Lives in the request's pool; its dispose callback detaches the job. */
struct http_later_guard {
    struct http_later *later;
};

static void later_dispose(void *p)
{
    struct http_later_guard *g = p;
    if (g->later)
        g->later->req = NULL;
}

void http_later_hold(struct http_later *l, h2o_req_t *req, void (*run)(struct http_deferred *d))
{
    struct loop_thread *t = H2O_STRUCT_FROM_MEMBER(struct loop_thread, ctx, req->conn->ctx);
    l->d.run = run;
    l->receiver = &t->wake;
    l->req = req;
    l->guard = h2o_mem_alloc_shared(&req->pool, sizeof *l->guard, later_dispose);
    l->guard->later = l;
}

void http_later_post(struct http_later *l)
{
    h2o_multithread_send_message(l->receiver, &l->d.super);
}

h2o_req_t *http_later_take(struct http_later *l)
{
    if (l->req)
        l->guard->later = NULL;
    return l->req;
}

void http_later_drop(struct http_later *l)
{
    if (l->req)
        l->guard->later = NULL;
    l->req = NULL;
}

static int has_connections(h2o_context_t *ctx)
{
    return !h2o_linklist_is_empty(&ctx->http1._conns) ||
           !h2o_linklist_is_empty(&ctx->http2._conns);
}

/*
 * Graceful stop: no new connections; idle keep-alive connections are closed
 * at once (their read timeout is cut to zero, which h2o checks when it next
 * runs its timers); requests in progress get up to `grace_ms` to finish. The
 * context is disposed only when every connection is gone: h2o asserts
 * otherwise, so past the grace period it is left to the process exit.
 */
/*
 * Three things h2o 2.2.5 leaves to us: h2o_multithread_destroy_queue closes
 * the context's queue but never frees it; the loop and the sockets closed on
 * it wait for h2o_evloop_destroy (which asserts that no timeout is linked);
 * and the socket buffers each thread keeps for reuse stay on its
 * thread-local free list, lost when the thread ends.
 */
void http_loop_free(h2o_context_t *ctx, h2o_evloop_t *loop)
{
    free(ctx->queue);
    ctx->queue = NULL;
    h2o_evloop_destroy(loop);
    h2o_mem_recycle_t *spare = &h2o_socket_buffer_prototype.allocator;
    while (spare->cnt > 0)
        free(h2o_mem_alloc_recycle(spare, 1)); /* pops a kept buffer; allocates nothing */
}

static void drain(struct loop_thread *t)
{
    t->ctx.http1.req_timeout.timeout = 0;
    uint64_t deadline = h2o_now(t->loop) + (uint64_t)t->server->grace_ms;
    while (has_connections(&t->ctx) && h2o_now(t->loop) < deadline)
        h2o_evloop_run(t->loop, 10);
    /* The stop message (and any late answer) must be consumed before the
     * receiver goes: h2o asserts that its queue is empty. */
    while (!h2o_linklist_is_empty(&t->wake._messages))
        h2o_evloop_run(t->loop, 10);
    h2o_multithread_unregister_receiver(t->ctx.queue, &t->wake);
    if (has_connections(&t->ctx)) {
        log_warn("connections still open after the shutdown grace period",
                 LOG_INT("ms", t->server->grace_ms));
        return;
    }
    h2o_context_dispose(&t->ctx);
    http_loop_free(&t->ctx, t->loop); /* the context's and our timeouts are disposed by now */
    t->loop = NULL;
}

static void *loop_main(void *arg)
{
    struct loop_thread *t = arg;
    t->loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, t->loop, &t->server->config);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = t->server->config.hosts;
    h2o_multithread_register_receiver(t->ctx.queue, &t->wake, on_wake);
    h2o_socket_t *listener = h2o_evloop_socket_create(t->loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    listener->data = t;
    t->listener = listener;
    h2o_timeout_init(t->loop, &t->pause, PAUSE_MS);
    t->resume.cb = on_resume;
    h2o_socket_read_start(listener, on_accept);

    pthread_mutex_lock(&t->ready_lock);
    t->ready = 1;
    pthread_cond_signal(&t->ready_cond);
    pthread_mutex_unlock(&t->ready_lock);

    while (!atomic_load(&t->server->stopping))
        h2o_evloop_run(t->loop, INT32_MAX);

    if (h2o_timeout_is_linked(&t->resume))
        h2o_timeout_unlink(&t->resume);
    h2o_timeout_dispose(t->loop, &t->pause);
    h2o_socket_read_stop(listener);
    h2o_socket_close(listener);
    /* Other loops may still hand this one connections until they too stop
     * accepting (on_handoff closes those), and http_server_stop may still be
     * sending stop messages: the queue must outlive every sender. */
    atomic_fetch_add(&t->server->listeners_closed, 1);
    while (atomic_load(&t->server->listeners_closed) < t->server->nthreads ||
           !atomic_load(&t->server->told))
        h2o_evloop_run(t->loop, 1);
    drain(t);
    return NULL;
}

static int bind_listener(const char *listen_addr, int *port, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen_addr, ':');
    if (!colon || colon == listen_addr || colon[1] == '\0') {
        snprintf(err, errlen, "listen: expected host:port, got \"%s\"", listen_addr);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen_addr), listen_addr);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "listen %s: %s", listen_addr, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "listen %s: %s", listen_addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void configure(struct http_server *s, const struct http_options *opt)
{
    h2o_config_init(&s->config);
    s->config.max_request_entity_size = opt->body_limit;
    s->config.http1.req_timeout = 10000;
    h2o_hostconf_t *host =
        h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    struct route_handler *h = (void *)h2o_create_handler(path, sizeof *h);
    h->super.on_req = on_req;
    h->server = s;
}

struct http_server *http_server_start(const struct http_options *opt,
                                      const struct http_route *routes, size_t nroutes, void *app,
                                      char *err, size_t errlen)
{
    struct http_server *s = xcalloc(1, sizeof *s);
    s->listen_fd = bind_listener(opt->listen, &s->port, err, errlen);
    if (s->listen_fd < 0) {
        free(s);
        return NULL;
    }
    s->grace_ms = opt->grace_ms;
    s->routes = routes;
    s->nroutes = nroutes;
    s->app = app;
    configure(s, opt);
    s->nthreads = opt->threads > 0 ? opt->threads : 1;
    s->threads = xcalloc((size_t)s->nthreads, sizeof *s->threads);
    for (int i = 0; i < s->nthreads; i++) {
        struct loop_thread *t = &s->threads[i];
        t->server = s;
        t->fd = dup(s->listen_fd);
        pthread_mutex_init(&t->ready_lock, NULL);
        pthread_cond_init(&t->ready_cond, NULL);
        pthread_create(&t->tid, NULL, loop_main, t);
        pthread_mutex_lock(&t->ready_lock);
        while (!t->ready)
            pthread_cond_wait(&t->ready_cond, &t->ready_lock);
        pthread_mutex_unlock(&t->ready_lock);
    }
    return s;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

unsigned http_server_accept_errors(const struct http_server *s)
{
    return atomic_load(&s->accept_errors);
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    for (int i = 0; i < s->nthreads; i++)
        h2o_multithread_send_message(&s->threads[i].wake, &s->threads[i].stop_msg.super);
    atomic_store(&s->told, 1);
    for (int i = 0; i < s->nthreads; i++) {
        pthread_join(s->threads[i].tid, NULL);
        pthread_mutex_destroy(&s->threads[i].ready_lock);
        pthread_cond_destroy(&s->threads[i].ready_cond);
    }
    close(s->listen_fd);
    h2o_config_dispose(&s->config);
    free(s->threads);
    free(s);
}
