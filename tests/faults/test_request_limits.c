/*
 * Hostile clients against a real daemon: a body beyond body_limit gets 413
 * (webhooks and API alike) without being read into a handler; more than
 * h2o's 100 headers, or a request head beyond its ~408 KiB, get a 4xx; clients that send their
 * headers (or their body) a byte at a time, slower than the server's request timeout, are cut off,
 * while the daemon keeps answering everybody else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "faultfx.h"
#include "pgtest.h"
#include "util/xmalloc.h"

#define BODY_LIMIT 4096
#define SLOW_CLIENTS 20
#define CUTOFF_MS 10000 /* the server's request timeout (http/server.c) */

static int port;

static int connect_loopback(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends raw bytes (ignoring a reset), then reads the status code of the answer (0: none). */
static int raw_status(const char *req, size_t len)
{
    int fd = connect_loopback();
    signal(SIGPIPE, SIG_IGN);
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    char buf[256] = "";
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n = poll(&p, 1, 5000) == 1 ? recv(fd, buf, sizeof buf - 1, 0) : 0;
    close(fd);
    if (n <= 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return 0;
    return atoi(buf + 9);
}

static long healthz(void)
{
    char url[64], resp[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    return http_request("GET", url, NULL, NULL, 0, resp, sizeof resp);
}

static void test_body_beyond_the_limit_gets_413(void **state)
{
    (void)state;
    char url[128], resp[512];
    size_t big = 64 * 1024;
    char *body = xmalloc(big + 1);
    memset(body, 'x', big);
    body[big] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%d/webhooks/jestha", port);
    long wh = http_request("POST", url, NULL, body, big, resp, sizeof resp);
    long wh_at_limit = http_request("POST", url, NULL, body, BODY_LIMIT - 100, resp, sizeof resp);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/posts", port);
    const char *auth[] = {"Authorization: Bearer tok-limits-0123456789", NULL};
    long api = http_request("POST", url, auth, body, big, resp, sizeof resp);
    /* A Content-Length announcing 1 GiB, without the body: refused at once. */
    const char huge[] = "POST /webhooks/jestha HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 1073741824\r\n\r\n";
    int announced = raw_status(huge, sizeof huge - 1);
    printf("request_limits: body %zu bytes -> webhook %ld, API %ld; %d bytes -> %ld "
           "(signature checked); Content-Length 1 GiB -> %d\n",
           big, wh, api, BODY_LIMIT - 100, wh_at_limit, announced);
    assert_int_equal(wh, 413);
    assert_int_equal(api, 413);
    assert_int_equal(wh_at_limit, 401);
    assert_int_equal(announced, 413);
    free(body);
}

static void test_too_many_or_too_large_headers_get_4xx(void **state)
{
    (void)state;
    size_t cap = 1 << 20, len = 0;
    char *req = xmalloc(cap);
    len += (size_t)snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 500; i++)
        len += (size_t)snprintf(req + len, cap - len, "X-Flood-%d: %d\r\n", i, i);
    len += (size_t)snprintf(req + len, cap - len, "\r\n");
    int many = raw_status(req, len);

    /* h2o's ceiling for a request head is H2O_MAX_REQLEN: 8 KiB + 4 KiB per
     * allowed header (100), about 408 KiB; a head beyond it is refused. */
    len = (size_t)snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + len, 'a', 512 * 1024);
    len += 512 * 1024;
    len += (size_t)snprintf(req + len, cap - len, "\r\n\r\n");
    int large = raw_status(req, len);
    free(req);
    long after = healthz();
    printf("request_limits: 500 headers -> %d, one 512 KiB header -> %d, then /healthz -> %ld\n",
           many, large, after);
    assert_true(many >= 400 && many < 500);
    assert_true(large >= 400 && large < 500);
    assert_int_equal(after, 200);
}

/* Slow clients: even ones send their headers a byte at a time (slowloris),
 * odd ones complete headers and then the body a byte at a time (slow POST). */
static const char *const slow_prefix[2] = {
    "POST /webhooks/jestha HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
    "POST /webhooks/jestha HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000\r\n\r\n",
};

/* Was fd closed by the server (or reset)? */
static int closed_by_peer(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    char buf[256];
    return poll(&p, 1, 0) == 1 && recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0;
}

static void test_slow_clients_are_cut_off_and_others_still_served(void **state)
{
    (void)state;
    int fds[SLOW_CLIENTS], cut[2] = {0, 0}, open_n = SLOW_CLIENTS;
    size_t sent[SLOW_CLIENTS] = {0};
    long max_ms[2] = {0, 0}, healthy = 0, polls = 0;
    for (int i = 0; i < SLOW_CLIENTS; i++)
        fds[i] = connect_loopback();
    long t0 = ffx_now_ms();
    while (open_n > 0 && ffx_now_ms() - t0 < CUTOFF_MS + 8000) {
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if (fds[i] < 0)
                continue;
            const char *prefix = slow_prefix[i % 2];
            char c = sent[i] < strlen(prefix) ? prefix[sent[i]] : 'a';
            ssize_t w = send(fds[i], &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            if ((w < 0 && errno != EAGAIN) || closed_by_peer(fds[i])) {
                close(fds[i]);
                fds[i] = -1;
                open_n--;
                cut[i % 2]++;
                long ms = ffx_now_ms() - t0;
                max_ms[i % 2] = ms > max_ms[i % 2] ? ms : max_ms[i % 2];
                continue;
            }
            sent[i]++;
        }
        /* Everybody else is still served meanwhile. */
        healthy += healthz() == 200;
        polls++;
        usleep(400 * 1000);
    }
    for (int i = 0; i < SLOW_CLIENTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    printf("request_limits: %d slow-header clients cut off after at most %ld ms, %d slow-body "
           "clients after at most %ld ms (request timeout %d ms); /healthz answered %ld of %ld "
           "times meanwhile\n",
           cut[0], max_ms[0], cut[1], max_ms[1], CUTOFF_MS, healthy, polls);
    assert_int_equal(cut[0], SLOW_CLIENTS / 2);
    assert_int_equal(cut[1], SLOW_CLIENTS / 2);
    assert_true(max_ms[0] <= CUTOFF_MS + 3000);
    assert_true(max_ms[1] <= CUTOFF_MS + 3000);
    assert_int_equal(healthy, polls);
}

static struct proc server;
static char *db;

static int start_daemon(void **state)
{
    (void)state;
    db = pgt_create_migrated_db();
    char *env_db = xasprintf("DATABASE_URL=%s", db);
    char *envs[] = {env_db, "POSTPACE_SCHEDULER=0", "POSTPACE_BODY_LIMIT=4096",
                    "POSTPACE_API_TOKENS=tok-limits-0123456789", NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    proc_start(&server, argv, envs);
    const char *at = proc_await(&server, " port=");
    free(env_db);
    if (!at)
        return -1;
    port = atoi(at + 6);
    return 0;
}

static int stop_daemon(void **state)
{
    (void)state;
    int alive = ffx_alive(&server);
    kill(server.pid, SIGTERM);
    int rc = proc_wait(&server);
    printf("request_limits: verdict %s: daemon alive after every hostile client=%d, exit=%d\n",
           alive && rc == 0 ? "PASS" : "FAIL", alive, rc);
    pgt_drop_db(db);
    return alive && rc == 0 ? 0 : -1;
}

int main(void)
{
    ffx_seed("request_limits");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_beyond_the_limit_gets_413),
        cmocka_unit_test(test_too_many_or_too_large_headers_get_4xx),
        cmocka_unit_test(test_slow_clients_are_cut_off_and_others_still_served),
    };
    return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}
