#include "loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One keep-alive connection with at most one request in flight. */
struct conn {
    int fd;
    struct lg_req *r; /* in flight, or NULL */
    size_t off;       /* bytes of r->text written */
    char in[65536];
    size_t inlen;
};

double lg_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("loadgen: connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Writes what the socket takes of the request in flight. */
static void push(struct conn *c)
{
    while (c->r && c->off < c->r->len) {
        ssize_t w = write(c->fd, c->r->text + c->off, c->r->len - c->off);
        if (w < 0 && errno == EAGAIN)
            return; /* retried on the next readiness event */
        if (w <= 0) {
            perror("loadgen: write");
            exit(1);
        }
        c->off += (size_t)w;
    }
}

/* Returns 1 once c->in holds one whole response (headers and Content-Length body). */
static int response_done(struct conn *c)
{
    c->in[c->inlen] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return 0;
    const char *cl = strcasestr(c->in, "\r\ncontent-length:");
    size_t body = cl && cl < end ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    if (c->inlen < (size_t)(end + 4 - c->in) + body)
        return 0;
    c->r->status = atoi(c->in + 9);
    return 1;
}

double lg_run(int port, struct lg_req *reqs, int n, int conc)
{
    int ep = epoll_create1(0), next = 0, done = 0;
    struct conn *conns = calloc((size_t)conc, sizeof *conns);
    for (int i = 0; i < conc; i++) {
        conns[i].fd = dial(port);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    double t0 = lg_now();
    for (int i = 0; i < conc && next < n; i++) {
        conns[i].r = &reqs[next++];
        conns[i].r->sent_at = lg_now();
        push(&conns[i]);
    }
    struct epoll_event evs[256];
    while (done < n) {
        int k = epoll_wait(ep, evs, 256, 30000);
        if (k <= 0) {
            fprintf(stderr, "loadgen: no answer for 30 s\n");
            exit(1);
        }
        for (int e = 0; e < k; e++) {
            struct conn *c = evs[e].data.ptr;
            if (c->r && (evs[e].events & EPOLLOUT))
                push(c);
            for (;;) {
                if (c->inlen + 1 >= sizeof c->in) {
                    fprintf(stderr, "loadgen: an answer larger than %zu bytes\n", sizeof c->in);
                    exit(1);
                }
                ssize_t got = read(c->fd, c->in + c->inlen, sizeof c->in - 1 - c->inlen);
                if (got < 0 && errno == EAGAIN)
                    break;
                if (got <= 0) {
                    fprintf(stderr, "loadgen: the server closed a connection\n");
                    exit(1);
                }
                c->inlen += (size_t)got;
                if (!c->r || !response_done(c))
                    continue;
                double t = lg_now();
                c->r->seconds = t - c->r->sent_at;
                done++;
                c->inlen = 0, c->off = 0, c->r = NULL;
                if (next < n) {
                    c->r = &reqs[next++];
                    c->r->sent_at = t;
                    push(c);
                }
                /* Nothing more can come before the next response, whose
                 * arrival is an edge of its own: skip the read that would
                 * only say EAGAIN (a syscall per request). */
                break;
            }
        }
    }
    double elapsed = lg_now() - t0;
    for (int i = 0; i < conc; i++)
        close(conns[i].fd);
    free(conns);
    close(ep);
    return elapsed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double lg_quantile_ms(const struct lg_req *reqs, int n, double q)
{
    double *lat = malloc((size_t)n * sizeof *lat);
    for (int i = 0; i < n; i++)
        lat[i] = reqs[i].seconds;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    int at = (int)(n * q);
    double v = lat[at < n ? at : n - 1] * 1000;
    free(lat);
    return v;
}
