/*
 * kill -9 of publishing daemons at random moments of a drain of 2,000
 * targets across the five providers (time scale 600), each restarted at once:
 * in the end every target is created exactly once at the simulator (no
 * duplicate, none lost) and no window was ever exceeded (no 429).
 *
 * Daemon 0 only takes webhooks (POSTPACE_SCHEDULER=0), as a load balancer in
 * front of several instances would, so no webhook is lost while a publisher is
 * dead; daemons 1 and 2 publish and take each other's leases over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "faultfx.h"

#define KILLS 5
#define PUBLISHERS 2

static const char *unsettled_sql = "SELECT count(*) FROM post_targets WHERE status NOT IN "
                                   "('published', 'failed', 'cancelled', 'expired')";

static void test_kill9_at_random_moments_loses_nothing_and_sends_nothing_twice(void **state)
{
    (void)state;
    unsigned seed = ffx_seed("kill9_drain");
    struct drainfx f;
    assert_int_equal(drainfx_setup_scaled(&f, 600), 0);
    char *hooks[] = {"POSTPACE_SCHEDULER=0", "POSTPACE_HTTP_THREADS=2", NULL};
    char *pub[] = {"POSTPACE_LEASE_TTL_MS=900",        "POSTPACE_UNCONFIRMED_RETRY_MS=2000",
                   "POSTPACE_REQUEST_TIMEOUT_MS=1000", "POSTPACE_MAX_ATTEMPTS=20",
                   "POSTPACE_BACKOFF_MS=200",          NULL};
    assert_int_equal(drainfx_start(&f, 0, hooks), 0);

    /* 2,000 targets; SchedPilot's 30 writes per (scaled) hour make the drain last ~20 s. */
    drainfx_posts(&f, "fh", 340, "{twitter,linkedin}", 0);
    drainfx_posts(&f, "pe", 80, "{pe-a,pe-b,pe-c,pe-d}", 0);
    drainfx_posts(&f, "sp", 100, "{sp-a,sp-b}", 0);
    drainfx_posts(&f, "pl", 400, "{blog1}", 0);
    drainfx_posts(&f, "je", 400, "{main}", 0);
    long total = drainfx_count(&f, "SELECT count(*) FROM post_targets");
    assert_int_equal(total, 2000);

    char owner[PUBLISHERS + 1][64];
    for (int i = 1; i <= PUBLISHERS; i++) {
        assert_int_equal(drainfx_start(&f, i, pub), 0);
        snprintf(owner[i], sizeof owner[i], "instance-%d", i);
    }

    /* Each kill hits a publisher that holds leases (chosen at random when both
     * do); the restarted process gets a new instance id, as host:pid would
     * give it, so its old leases must lapse and be taken over. */
    int kills = 0;
    long unsettled_at_kill[KILLS];
    char ids[KILLS][64];
    for (int k = 0; k < KILLS; k++) {
        usleep((useconds_t)ffx_rand(300, 2500) * 1000);
        int victim = ffx_rand(1, PUBLISHERS);
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM key_leases WHERE owner = '%s' "
                 "AND expires_at > now()",
                 owner[victim]);
        if (drainfx_count(&f, sql) == 0)
            victim = victim % PUBLISHERS + 1;
        unsettled_at_kill[k] = drainfx_count(&f, unsettled_sql);
        assert_int_equal(drainfx_stop(&f, victim, 1), 128 + 9);
        kills++;
        usleep((useconds_t)ffx_rand(0, 500) * 1000);
        snprintf(ids[k], sizeof ids[k], "POSTPACE_INSTANCE_ID=instance-%d-gen-%d", victim, k + 1);
        snprintf(owner[victim], sizeof owner[victim], "%s",
                 ids[k] + strlen("POSTPACE_INSTANCE_ID="));
        char *env[8] = {ids[k]};
        for (int e = 0; pub[e]; e++)
            env[e + 1] = pub[e];
        assert_int_equal(drainfx_start(&f, victim, env), 0);
        printf("kill9_drain: kill %d of daemon %d with %ld targets unsettled\n", k + 1, victim,
               unsettled_at_kill[k]);
    }

    int settled = drainfx_await_settled(&f, 150);
    struct ffx_verdict v;
    struct ffx_targets t;
    assert_int_equal(ffx_sim_verdict(&f, &v), 0);
    ffx_targets(&f, &t);
    long instances = drainfx_count(&f, "SELECT count(DISTINCT instance) FROM attempts");
    /* Keys whose requests came from more than one process: their lease moved. */
    long moved = drainfx_count(&f, "SELECT count(*) FROM (SELECT provider_key_id FROM attempts "
                                   "GROUP BY 1 HAVING count(DISTINCT instance) > 1) k");
    long recovered = drainfx_count(&f, "SELECT count(*) FROM attempts WHERE finished_at IS NULL "
                                       "OR outcome = 'unknown'");
    printf("kill9_drain: verdict %s: seed=%u kills=%d targets=%ld published=%ld failed=%ld "
           "unsettled=%ld; sim create_requests=%ld created=%ld duplicates=%ld 429s=%ld; "
           "keys that changed hands=%ld, instances=%ld, requests cut short=%ld\n",
           settled == 0 && v.duplicates == 0 && v.rate_limited == 0 && v.created == total &&
                   t.published == total
               ? "PASS"
               : "FAIL",
           seed, kills, t.total, t.published, t.failed, t.unsettled, v.create_requests, v.created,
           v.duplicates, v.rate_limited, moved, instances, recovered);
    assert_int_equal(settled, 0);
    assert_int_equal(v.duplicates, 0);   /* nothing sent twice */
    assert_int_equal(v.created, total);  /* nothing lost */
    assert_int_equal(v.rate_limited, 0); /* no window exceeded */
    assert_int_equal(t.published, total);
    assert_true(moved > 0); /* leases did move */
    /* Every kill landed mid-drain. */
    for (int k = 0; k < KILLS; k++)
        assert_true(unsettled_at_kill[k] > 0);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_at_random_moments_loses_nothing_and_sends_nothing_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
