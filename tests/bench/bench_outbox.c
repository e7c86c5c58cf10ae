/*
 * Outgoing webhook throughput (issue #24): a backlog of N outbox rows for
 * one subscription, delivered by a real `postpace serve` to a local no-op
 * subscriber (tests/support/subscriber: HTTP/1.1 keep-alive, answers 200,
 * records nothing), signed and recorded as in production. Two runs:
 *   idle   the daemon does nothing else (scheduler off);
 *   drain  the same backlog while the scheduler drains 4,000 targets
 *          against the simulator (time scale 600), whose own events join
 *          the outbox.
 * Prints events/s from the daemon's start to the last 2xx, to the last
 * row recorded delivered, and the drain's progress meanwhile.
 * Bounded: each run delivers exactly its backlog (and the drain's events).
 * Usage: bench_outbox [N] [CONCURRENCY]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drainfx.h"
#include "pgtest.h"
#include "subscriber.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int run(const char *name, int n, const char *conc, int drain)
{
    struct subscriber sub;
    struct drainfx f;
    if (sub_start(&sub, 0) != 0 || drainfx_setup_scaled(&f, 600) != 0) {
        fprintf(stderr, "outbox: set-up failed\n");
        return 1;
    }
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO subscriptions (url, secret_ref) VALUES ('http://127.0.0.1:%d/hooks', "
             "'env:BENCH_WHSEC')",
             sub.port);
    pgt_exec(f.conn, sql);
    /* A backlog shaped like post.published events. */
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox (subscription_id, event_type, post_id, target_id, data) "
             "SELECT 1, 'post.published', g, g, jsonb_build_object('target_id', g, 'post_id', g, "
             "'external_id', 'ext-' || g, 'provider', 'feedhorizon', 'key', 'fh', 'account', "
             "'twitter', 'provider_post_id', 'fh_' || g, 'status', 'published', "
             "'previous_status', 'submitted', 'error', null) FROM generate_series(1, %d) g",
             n);
    pgt_exec(f.conn, sql);
    pgt_exec(f.conn, "VACUUM ANALYZE outbox");
    if (drain) {
        drainfx_posts(&f, "fh", 1500, "{twitter,linkedin}", 0);
        drainfx_posts(&f, "je", 1000, "{main}", 0);
    }
    char env_conc[64];
    snprintf(env_conc, sizeof env_conc, "POSTPACE_OUTBOX_CONCURRENCY=%s", conc);
    char *env[] = {"BENCH_WHSEC=" WHSEC, env_conc, "POSTPACE_SKEW_MS=5",
                   drain ? NULL : "POSTPACE_SCHEDULER=0", NULL};
    double t0 = now_s();
    if (drainfx_start(&f, 0, env) != 0) {
        fprintf(stderr, "outbox: daemon did not start\n");
        return 1;
    }
    const char *settled = "SELECT count(*) FROM post_targets WHERE status IN ('published', "
                          "'failed', 'expired', 'cancelled')";
    if (sub_await_ok(&sub, (size_t)n, 300) != 0) {
        fprintf(stderr, "outbox: %zu of %d delivered in 300 s\n", sub.ok, n);
        return 1;
    }
    double t1 = now_s();
    long published = drainfx_count(&f, settled);
    long delivered = 0;
    /* The backlog holds ids 1..n (inserted first). */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM outbox WHERE state = 'delivered' AND id <= %d", n);
    for (int i = 0; i < 3000 && delivered < n; i++) {
        delivered = drainfx_count(&f, sql);
        if (delivered < n)
            usleep(10 * 1000);
    }
    double t2 = now_s();
    if (drain && drainfx_await_settled(&f, 300) != 0)
        return 1;
    long total = drainfx_count(&f, "SELECT count(*) FROM outbox");
    if (sub_await_ok(&sub, (size_t)total, 120) != 0) {
        fprintf(stderr, "outbox: the drain's events were not all delivered\n");
        return 1;
    }
    double t3 = now_s();
    json_t *st = sim_ctl_stats(&f.sim);
    printf("  %-6s %7d %10.0f %11.0f %12.1f   %s", name, n, n / (t1 - t0), n / (t2 - t0), t1 - t0,
           drain ? "" : "-\n");
    if (drain)
        printf("%ld of 4000 targets settled meanwhile; drain done at %.1f s, %ld events in all, "
               "%ld 429s, %ld duplicates\n",
               published, t3 - t0, total, sim_ctl_total(st, "rate_limited"),
               sim_ctl_total(st, "duplicates"));
    json_decref(st);
    drainfx_stop(&f, 0, 0);
    drainfx_teardown(&f);
    sub_stop(&sub);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    const char *conc = argc > 2 ? argv[2] : "16";
    printf("outbox: %d events to a no-op subscriber on loopback, %s in flight\n", n, conc);
    printf("  %-6s %7s %10s %11s %12s   %s\n", "run", "events", "2xx/s", "recorded/s", "seconds",
           "the drain meanwhile");
    return run("idle", n, conc, 0) || run("drain", n, conc, 1);
}
