/*
 * Drain benchmarks against the simulator (loopback, bounded):
 *  A. pacing efficiency: one FeedHorizon key (100 requests per rolling 60 s)
 *     at time scale 60 with a deep backlog; sent / the most the window allows.
 *  B. drain rate: every provider's key at time scale 600 with a backlog;
 *     create requests per second until the calendar is settled.
 * Both report the simulator's 429s and duplicates. Usage: bench_drain [pacing|drain]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drainfx.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(struct drainfx *f, const char *name, double seconds, double allowed)
{
    json_t *st = sim_ctl_stats(&f->sim);
    long req = sim_ctl_total(st, "create_requests");
    printf("%s: %ld create requests in %.1f s = %.1f/s; %ld created, %ld 429s, %ld duplicates",
           name, req, seconds, req / seconds, sim_ctl_total(st, "created"),
           sim_ctl_total(st, "rate_limited"), sim_ctl_total(st, "duplicates"));
    if (allowed > 0)
        printf("; pacing efficiency %.1f%% of the %.0f the window allows", 100.0 * req / allowed,
               allowed);
    printf("\n");
    json_decref(st);
}

static int pacing(void)
{
    struct drainfx f;
    if (drainfx_setup_scaled(&f, 60) != 0)
        return 1;
    if (drainfx_start(&f, 0, NULL) != 0)
        return 1;
    drainfx_posts(&f, "fh", 5000, "{twitter}", 0);
    /* 100 per rolling second (60 s / 60): measure 20 s of a backlog that lasts longer. */
    double t0 = now_s();
    sleep(20);
    double t = now_s() - t0;
    /* Rolling 100/s from a cold start: 100 at once, then 100 per second. */
    report(&f, "pacing (feedhorizon 100/60s at x60)", t, 100.0 * (t + 1));
    drainfx_teardown(&f);
    return 0;
}

static int drain_rate(void)
{
    struct drainfx f;
    if (drainfx_setup_scaled(&f, 600) != 0) {
        fprintf(stderr, "drain: set-up failed\n");
        return 1;
    }
    char *env[] = {"POSTPACE_SKEW_MS=5", NULL};
    if (drainfx_start(&f, 0, env) != 0) {
        fprintf(stderr, "drain: daemon did not start\n");
        return 1;
    }
    /* Keys whose limits at x600 allow more than the scheduler can send
     * (FeedHorizon 1,000/s, Postlark Scale 1,666/s, Jestha 100/s): the
     * figure is the scheduler's own throughput. */
    drainfx_posts(&f, "fh", 3000, "{twitter,linkedin}", 0);
    drainfx_posts(&f, "pl", 3000, "{blog1}", 0);
    drainfx_posts(&f, "je", 500, "{main}", 0);
    double t0 = now_s();
    int rc = drainfx_await_settled(&f, 300);
    report(&f, "drain (3 keys at x600, 6500 posts)", now_s() - t0, 0);
    drainfx_teardown(&f);
    return rc != 0;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    int rc = 0;
    if (!*only || strcmp(only, "pacing") == 0)
        rc |= pacing();
    if (!*only || strcmp(only, "drain") == 0)
        rc |= drain_rate();
    return rc;
}
