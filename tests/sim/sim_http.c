/*
 * DESIGN: one loop thread owns the listener, the h2o context and the evloop.
 * Stopping sets `stopping` and posts a message; the thread leaves its run
 * loop, closes the listener, cuts the keep-alive timeout to zero and keeps
 * running the loop until it has consumed the message and every connection
 * is gone (or a 2 s grace passed), and only then unregisters the receiver
 * and disposes the context. So a stop racing with other events cannot leave
 * the message queued (h2o asserts on that).
 */
#include "sim_http.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"
#include "util/xmalloc.h"

#define STOP_GRACE_MS 2000

struct handler {
    h2o_handler_t super;
    struct simhttp *h;
};

struct simhttp {
    h2o_globalconf_t config;
    simhttp_fn fn;
    simhttp_end_fn end;
    void *app;
    int fd, port;
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_multithread_receiver_t wake;
    h2o_multithread_message_t stop_msg;
    atomic_int stopping;
    int stop_seen; /* loop thread only */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready;
};

void simhttp_send_json(h2o_req_t *req, int status, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, len);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct simhttp *h = ((struct handler *)self)->h;
    return h->fn(h->app, req);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err)
        return;
    struct simhttp *h = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock)
        h2o_accept(&h->accept_ctx, sock);
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct simhttp *h = H2O_STRUCT_FROM_MEMBER(struct simhttp, wake, receiver);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    h->stop_seen = 1;
}

static int has_connections(h2o_context_t *ctx)
{
    return !h2o_linklist_is_empty(&ctx->http1._conns) || !h2o_linklist_is_empty(&ctx->http2._conns);
}

static void *loop_main(void *arg)
{
    struct simhttp *h = arg;
    h->loop = h2o_evloop_create();
    h2o_context_init(&h->ctx, h->loop, &h->config);
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->config.hosts;
    h2o_multithread_register_receiver(h->ctx.queue, &h->wake, on_wake);
    h2o_socket_t *listener =
        h2o_evloop_socket_create(h->loop, dup(h->fd), H2O_SOCKET_FLAG_DONT_READ);
    listener->data = h;
    h2o_socket_read_start(listener, on_accept);
    pthread_mutex_lock(&h->lock);
    h->ready = 1;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);

    while (!atomic_load(&h->stopping))
        h2o_evloop_run(h->loop, INT32_MAX);

    h2o_socket_read_stop(listener);
    h2o_socket_close(listener);
    h->ctx.http1.req_timeout.timeout = 0;
    uint64_t deadline = h2o_now(h->loop) + STOP_GRACE_MS;
    while (!h->stop_seen || (has_connections(&h->ctx) && h2o_now(h->loop) < deadline))
        h2o_evloop_run(h->loop, 10);
    h2o_multithread_unregister_receiver(h->ctx.queue, &h->wake);
    if (has_connections(&h->ctx))
        return NULL; /* past the grace: the loop goes with the process */
    h2o_context_dispose(&h->ctx);
    if (h->end)
        h->end(h->app, h->loop);
    http_loop_free(&h->ctx, h->loop);
    h->loop = NULL;
    return NULL;
}

static int is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
           strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0;
}

static int bind_loopback(const char *listen_addr, int *port, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen_addr, ':');
    if (!colon || colon == listen_addr) {
        snprintf(err, errlen, "listen: expected host:port, got \"%s\"", listen_addr);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen_addr), listen_addr);
    if (!is_loopback(host)) {
        snprintf(err, errlen, "listen %s: only loopback addresses are allowed", listen_addr);
        return -1;
    }
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
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

struct simhttp *simhttp_start(const char *listen, size_t body_limit, simhttp_fn fn,
                              simhttp_end_fn end, void *app, char *err, size_t errlen)
{
    struct simhttp *h = xcalloc(1, sizeof *h);
    h->fd = bind_loopback(listen, &h->port, err, errlen);
    if (h->fd < 0) {
        free(h);
        return NULL;
    }
    h->fn = fn;
    h->end = end;
    h->app = app;
    h2o_config_init(&h->config);
    h->config.max_request_entity_size = body_limit;
    h->config.http1.req_timeout = 10000;
    h2o_hostconf_t *host =
        h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    struct handler *hd = (void *)h2o_create_handler(path, sizeof *hd);
    hd->super.on_req = on_req;
    hd->h = h;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    pthread_create(&h->tid, NULL, loop_main, h);
    pthread_mutex_lock(&h->lock);
    while (!h->ready)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
    return h;
}

int simhttp_port(const struct simhttp *h)
{
    return h->port;
}

void simhttp_stop(struct simhttp *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, 1);
    h2o_multithread_send_message(&h->wake, &h->stop_msg);
    pthread_join(h->tid, NULL);
    close(h->fd);
    h2o_config_dispose(&h->config);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}
