/*
 * loadgen: a load generator for benchmarks: pre-serialised HTTP/1.1
 * requests sent over `conc` keep-alive loopback connections, one request in
 * flight on each, the next going out as soon as its answer is in. A plain
 * epoll loop, so the generator costs little CPU beside the server it
 * measures (curl multi cost ~100 us of CPU per request here). Bounded: it
 * sends exactly n and returns; exits the process if the server stops
 * answering for 30 s or closes a connection.
 */
#ifndef POSTPACE_TESTS_LOADGEN_H
#define POSTPACE_TESTS_LOADGEN_H

#include <stddef.h>

struct lg_req {
    char *text; /* the whole request; the caller's */
    size_t len;
    int status;        /* the answer's */
    double seconds;    /* from the request's first byte out to its answer's last in */
    double sent_at;
};

double lg_now(void);

/* Sends reqs[0..n) to 127.0.0.1:port; returns the seconds it took. */
double lg_run(int port, struct lg_req *reqs, int n, int conc);

/* The q-quantile (0..1) of the requests' seconds, in ms. */
double lg_quantile_ms(const struct lg_req *reqs, int n, double q);

#endif
