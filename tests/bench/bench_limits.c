/*
 * Benchmark for limits: decisions per second (lim_next_slot + lim_commit) for
 * a request touching 3 buckets / 7 windows, in virtual time. Prints figures;
 * never pass/fail. Run from a Release build: ./bench_limits [decisions]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "limits/limiter.h"

#define SEC 1000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 1709647200000ULL

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Key-wide 60/min, 1000/h, 10000/day; POST /posts 20/min, 100/h, 500/day;
 * the account's 1000/day at UTC midnight (per post): 3 buckets, 7 windows.
 * `mult` scales every max_units (a large one means nothing binds). */
static struct lim_set *build(uint64_t mult, uint32_t b[3])
{
    const struct lim_window_spec key[] = {
        {LIM_ROLLING, MIN, 60 * mult, LIM_COST_REQUEST},
        {LIM_ROLLING, HOUR, 1000 * mult, LIM_COST_REQUEST},
        {LIM_ROLLING, DAY, 10000 * mult, LIM_COST_REQUEST},
    };
    const struct lim_window_spec route[] = {
        {LIM_ROLLING, MIN, 20 * mult, LIM_COST_REQUEST},
        {LIM_ROLLING, HOUR, 100 * mult, LIM_COST_REQUEST},
        {LIM_ROLLING, DAY, 500 * mult, LIM_COST_REQUEST},
    };
    const struct lim_window_spec acct[] = {{LIM_FIXED, DAY, 1000 * mult, LIM_COST_POST}};
    struct lim_set *s = lim_set_create(NULL);
    struct lim_bucket_spec k = {"*", key, 3, 1, 0};
    struct lim_bucket_spec r = {"POST /posts", route, 3, 1, 0};
    struct lim_bucket_spec a = {"POST /posts", acct, 1, 1, 0};
    b[0] = lim_set_add_bucket(s, &k);
    b[1] = lim_set_add_bucket(s, &r);
    b[2] = lim_set_add_bucket(s, &a);
    return s;
}

/* Sends an unbounded backlog: each request at its next slot. `step` ms pass
 * between decisions when the limits never bind. */
static void run(const char *name, uint64_t mult, uint64_t step, long n)
{
    uint32_t b[3];
    struct lim_set *s = build(mult, b);
    struct lim_req req = {"POST /posts", b, 3, 1, 1};
    uint64_t now = T0, sink = 0;
    double t0 = mono_s();
    for (long i = 0; i < n; i++) {
        uint64_t t = lim_next_slot(s, &req, now);
        lim_commit(s, &req, t);
        sink += t;
        now = t + step;
    }
    double dt = mono_s() - t0;
    printf("%-34s %9ld decisions  %7.1f ns/decision  %6.2f M decisions/s  (virtual %.1f days)\n",
           name, n, dt * 1e9 / (double)n, (double)n / dt / 1e6, (double)(now - T0) / (double)DAY);
    if (sink == 42)
        puts("");
    lim_set_destroy(s);
}

/* A plan simulation starts from a clone of the live set. */
static void run_clone(long n)
{
    uint32_t b[3];
    struct lim_set *s = build(1, b);
    struct lim_req req = {"POST /posts", b, 3, 1, 1};
    uint64_t now = T0;
    for (int i = 0; i < 500; i++) {
        now = lim_next_slot(s, &req, now);
        lim_commit(s, &req, now);
    }
    double t0 = mono_s();
    for (long i = 0; i < n; i++)
        lim_set_destroy(lim_set_clone(s));
    double dt = mono_s() - t0;
    printf("%-34s %9ld clones     %7.1f us/clone\n", "clone a 7-window set", n,
           dt * 1e6 / (double)n);
    lim_set_destroy(s);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    run("binding (PostEverywhere numbers)", 1, 0, n);
    run("never binding (limits x10, 20 s apart)", 10, 20000, n);
    run_clone(n / 1000 > 0 ? n / 1000 : 1);
    return 0;
}
