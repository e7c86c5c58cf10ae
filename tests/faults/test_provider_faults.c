/*
 * The providers misbehave: 5xx after creating the post, 5xx before, dropped
 * connections, before anything is done or after the post is created (on
 * keep-alive connections: an HTTP library that silently re-sends there posts
 * twice) (phase A, with duplicated and reordered webhooks), then every
 * answer hanging beyond request_timeout_ms (phase B). Requests whose fate is
 * unknown leave their targets `unconfirmed`; the webhooks settle them, or
 * they are re-sent with the same idempotency key. Nothing is created twice,
 * nothing is lost, no window is exceeded.
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

static void test_5xx_drops_and_hangs_settle_by_webhook_without_duplicates(void **state)
{
    (void)state;
    unsigned seed = ffx_seed("provider_faults");
    struct drainfx f;
    assert_int_equal(drainfx_setup_scaled(&f, 600), 0);
    char *env[] = {"POSTPACE_UNCONFIRMED_RETRY_MS=2000", "POSTPACE_REQUEST_TIMEOUT_MS=600",
                   "POSTPACE_MAX_ATTEMPTS=30", "POSTPACE_BACKOFF_MS=100", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);

    /* Phase A: errors after and before creating, drops, messy webhooks. */
    char faults[256];
    snprintf(faults, sizeof faults,
             "{\"error_after_create_ratio\":0.2,\"error_ratio\":0.1,\"drop_ratio\":0.15,"
             "\"drop_after_create_ratio\":0.15,\"webhook_duplicate_ratio\":0.2,"
             "\"webhook_reorder\":true,\"seed\":%u}",
             seed % 1000000);
    assert_int_equal(sim_ctl_faults(&f.sim, faults), 0);
    drainfx_posts(&f, "je", 60, "{main}", 0);
    drainfx_posts(&f, "pe", 40, "{pe-a,pe-b}", 0);
    drainfx_posts(&f, "fh", 60, "{twitter}", 0);
    drainfx_posts(&f, "pl", 60, "{blog1}", 0);
    drainfx_posts(&f, "sp", 20, "{sp-a,sp-b}", 0);
    int settled_a = drainfx_await_settled(&f, 120);
    struct ffx_verdict a;
    assert_int_equal(ffx_sim_verdict(&f, &a), 0);
    long total_a = drainfx_count(&f, "SELECT count(*) FROM post_targets");
    long unknown_a = drainfx_count(&f, "SELECT count(*) FROM attempts WHERE outcome = 'unknown'");
    long resent_a = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE attempts > 1");
    printf("provider_faults: phase A (5xx after create, 5xx, drops): targets=%ld "
           "create_requests=%ld created=%ld 5xx=%ld dropped=%ld duplicates=%ld 429s=%ld; "
           "requests of unknown fate=%ld, targets re-sent with their key=%ld\n",
           total_a, a.create_requests, a.created, a.server_errors, a.dropped, a.duplicates,
           a.rate_limited, unknown_a, resent_a);
    assert_int_equal(settled_a, 0);

    /* Phase B: every answer hangs beyond the request timeout (the post is created). */
    long attempts_before = drainfx_count(&f, "SELECT coalesce(max(id), 0) FROM attempts");
    assert_int_equal(sim_ctl_faults(&f.sim, "{\"error_after_create_ratio\":0,\"error_ratio\":0,"
                                            "\"drop_ratio\":0,\"drop_after_create_ratio\":0,"
                                            "\"webhook_duplicate_ratio\":0,"
                                            "\"webhook_reorder\":false,\"latency_ms\":1500}"),
                     0);
    drainfx_posts(&f, "je", 20, "{hang}", 0);
    drainfx_posts(&f, "pl", 30, "{hang-blog}", 0);
    drainfx_posts(&f, "fh", 30, "{hang-platform}", 0);
    int settled_b = drainfx_await_settled(&f, 120);
    /* Webhooks settle the targets before their requests time out; wait until
     * those requests are recorded too (the count goes up to 0). */
    int recorded =
        ffx_await_count(&f, "SELECT -count(*) FROM attempts WHERE outcome = 'pending'", 0, 15000);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM attempts WHERE id > %ld AND outcome = 'unknown'",
             attempts_before);
    long timed_out = drainfx_count(&f, sql);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempts WHERE id > %ld", attempts_before);
    long requests_b = drainfx_count(&f, sql);

    snprintf(sql, sizeof sql,
             "SELECT outcome, http_status, count(*) FROM attempts WHERE id > %ld GROUP BY 1, 2",
             attempts_before);
    PGresult *r = PQexec(f.conn, sql);
    for (int i = 0; i < PQntuples(r); i++)
        printf("provider_faults: phase B outcome %s http_status %s: %s\n", PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    PQclear(r);

    struct ffx_verdict v;
    struct ffx_targets t;
    assert_int_equal(ffx_sim_verdict(&f, &v), 0);
    ffx_targets(&f, &t);
    /* Settled by their own webhook: a stored event names each published target. */
    long by_webhook = drainfx_count(&f, "SELECT count(DISTINCT t.id) FROM post_targets t "
                                        "JOIN webhook_events w ON w.applied_at IS NOT NULL AND "
                                        "(w.reference IN (t.idempotency_key, t.request_ref) OR "
                                        "w.provider_post_id = t.provider_post_id) "
                                        "WHERE t.status = 'published'");
    int ok = settled_b == 0 && recorded == 0 && v.duplicates == 0 && v.rate_limited == 0 &&
             v.created == t.total && t.published == t.total && timed_out > 0;
    printf("provider_faults: verdict %s: seed=%u targets=%ld published=%ld failed=%ld; sim "
           "create_requests=%ld created=%ld 5xx=%ld dropped=%ld duplicates=%ld 429s=%ld; phase B "
           "hung requests=%ld of %ld timed out; targets settled by a webhook=%ld\n",
           ok ? "PASS" : "FAIL", seed, t.total, t.published, t.failed, v.create_requests, v.created,
           v.server_errors, v.dropped, v.duplicates, v.rate_limited, timed_out, requests_b,
           by_webhook);
    assert_int_equal(settled_b, 0);
    assert_int_equal(recorded, 0);
    assert_int_equal(v.duplicates, 0);
    assert_int_equal(v.rate_limited, 0);
    assert_int_equal(v.created, t.total);
    assert_int_equal(t.published, t.total);
    assert_true(a.server_errors > 0 && a.dropped > 0 && unknown_a > 0);
    assert_true(requests_b > 0);
    assert_int_equal(timed_out, requests_b); /* every phase B answer came too late */
    assert_int_equal(by_webhook, t.total);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5xx_drops_and_hangs_settle_by_webhook_without_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
