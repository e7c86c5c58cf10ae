/*
 * The h2o server on its own (no database): how its loop threads share the
 * connections, and stopping with connections open. Real HTTP/1.1 over
 * loopback, from plain sockets so the test decides when each connection is
 * made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/server.h"

/* Answers with the identity of the loop (its h2o context) that serves it. */
static int on_loop(void *app, h2o_req_t *req)
{
    (void)app;
    char *body = h2o_mem_alloc_pool(&req->pool, 32);
    int n = snprintf(body, 32, "%p", (void *)req->conn->ctx);
    http_send_json(req, 200, "OK", body, (size_t)n);
    return 0;
}

static const struct http_route routes[] = {{"GET", "/loop", on_loop}};

static struct http_server *start(int threads)
{
    struct http_options opt = {"127.0.0.1:0", threads, 4096, 1000};
    char err[256];
    struct http_server *s = http_server_start(&opt, routes, 1, NULL, err, sizeof err);
    if (!s)
        fail_msg("server: %s", err);
    return s;
}

/* A TCP socket whose reads give up after 10 s: a read that would hang fails instead. */
static int client_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval patience = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    return fd;
}

static void connect_port(int fd, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
}

static int connect_to(int port)
{
    int fd = client_socket();
    connect_port(fd, port);
    return fd;
}

/* GET /loop on a keep-alive connection; the body (the loop's identity) goes to out. */
static void get_loop(int fd, char *out, size_t size)
{
    static const char req[] = "GET /loop HTTP/1.1\r\nHost: test\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char buf[1024];
    size_t len = 0;
    const char *body = NULL;
    long want = -1;
    while (!body || (long)(len - (size_t)(body - buf)) < want) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            fail_msg("no whole answer (read %zd): %.*s", n, (int)len, buf);
        len += (size_t)n;
        buf[len] = '\0';
        const char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "content-length: ");
        if (end && cl) {
            body = end + 4;
            want = atol(cl + 16);
        }
    }
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    snprintf(out, size, "%.*s", (int)want, body);
}

/*
 * Connections made at once are dealt to the loops in turn. Whichever loop
 * woke first used to keep them, so a burst could land on one loop while the
 * other idled (chance of an even deal at random: 8.5% for 9 over 3).
 */
static void test_connections_are_dealt_to_loops_in_turn(void **state)
{
    (void)state;
    enum { LOOPS = 3, CONNS = 9 };
    struct http_server *s = start(LOOPS);
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++)
        fds[i] = connect_to(http_server_port(s));
    char seen[LOOPS][32] = {{0}};
    int count[LOOPS] = {0}, loop_of[CONNS];
    for (int i = 0; i < CONNS; i++) {
        char id[32];
        get_loop(fds[i], id, sizeof id);
        int k = 0;
        while (k < LOOPS && seen[k][0] && strcmp(seen[k], id) != 0)
            k++;
        assert_true(k < LOOPS);
        snprintf(seen[k], sizeof seen[k], "%s", id);
        count[k]++;
        loop_of[i] = k;
    }
    for (int k = 0; k < LOOPS; k++)
        assert_int_equal(count[k], CONNS / LOOPS);
    /* A second request on each connection stays on its loop. */
    for (int i = 0; i < CONNS; i++) {
        char again[32];
        get_loop(fds[i], again, sizeof again);
        assert_string_equal(again, seen[loop_of[i]]);
    }
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);
    http_server_stop(s);
}

/* Stopping closes idle connections on every loop, handed over or not. */
static void test_stop_closes_open_connections_on_every_loop(void **state)
{
    (void)state;
    enum { CONNS = 6 };
    struct http_server *s = start(2);
    int fds[CONNS];
    char id[32];
    for (int i = 0; i < CONNS; i++) {
        fds[i] = connect_to(http_server_port(s));
        get_loop(fds[i], id, sizeof id);
    }
    http_server_stop(s);
    for (int i = 0; i < CONNS; i++) {
        char c;
        assert_int_equal(read(fds[i], &c, 1), 0);
        close(fds[i]);
    }
}

/* Connections that arrive while the server stops are closed or served, never lost in a queue. */
static void test_stop_while_connections_arrive(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        struct http_server *s = start(2);
        int fds[4];
        for (int i = 0; i < 4; i++)
            fds[i] = connect_to(http_server_port(s));
        http_server_stop(s);
        for (int i = 0; i < 4; i++) {
            char c;
            errno = 0;
            assert_true(read(fds[i], &c, 1) <= 0);
            assert_true(errno != EAGAIN && errno != EWOULDBLOCK);
            close(fds[i]);
        }
    }
}

/*
 * Out of descriptors, a loop pauses accepting instead of spinning on a
 * listener that stays readable, and serves the waiting connection once
 * descriptors are free again.
 */
static void test_out_of_descriptors_pauses_accepting_then_recovers(void **state)
{
    (void)state;
    struct http_server *s = start(2);
    int fd = client_socket(); /* made while descriptors remain, connected after */
    struct rlimit was;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    struct rlimit low = {(rlim_t)fd + 16, was.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int spare[32], nspare = 0;
    for (int d; nspare < 32 && (d = dup(fd)) >= 0;)
        spare[nspare++] = d;
    assert_true(nspare < 32); /* the process is out of descriptors */

    connect_port(fd, http_server_port(s)); /* into the backlog */
    while (http_server_accept_errors(s) == 0)
        usleep(1000);
    /* Half a second out of descriptors: a few paced retries, not a spin. */
    usleep(500 * 1000);
    unsigned errors = http_server_accept_errors(s);
    assert_true(errors <= 20);

    for (int i = 0; i < nspare; i++)
        close(spare[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    char id[32];
    get_loop(fd, id, sizeof id); /* accepted once a descriptor is free */
    close(fd);
    http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_are_dealt_to_loops_in_turn),
        cmocka_unit_test(test_stop_closes_open_connections_on_every_loop),
        cmocka_unit_test(test_stop_while_connections_arrive),
        cmocka_unit_test(test_out_of_descriptors_pauses_accepting_then_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
