/*
 * Scheduler behaviour under faults, shutdown and scale-out, against the
 * simulator and a real PostgreSQL. Every verdict is the simulator's count of
 * 429s and duplicates plus the calendar's final statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drainfx.h"
#include "pgtest.h"
#include "provider/provider.h"

static void verdict(struct drainfx *f, const char *name, long *limited, long *dups)
{
    json_t *stats = sim_ctl_stats(&f->sim);
    assert_non_null(stats);
    *limited = sim_ctl_total(stats, "rate_limited");
    *dups = sim_ctl_total(stats, "duplicates");
    printf("%s: %ld create requests, %ld created, %ld 429s, %ld duplicates, %ld 5xx; targets "
           "published %ld, failed %ld\n",
           name, sim_ctl_total(stats, "create_requests"), sim_ctl_total(stats, "created"),
           *limited, *dups, sim_ctl_total(stats, "server_errors"),
           drainfx_count(f, "SELECT count(*) FROM post_targets WHERE status = 'published'"),
           drainfx_count(f, "SELECT count(*) FROM post_targets WHERE status = 'failed'"));
    json_decref(stats);
}

static void test_5xx_and_5xx_after_create_settle_without_duplicates(void **state)
{
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    char *env[] = {"POSTPACE_UNCONFIRMED_RETRY_MS=1500", "POSTPACE_BACKOFF_MS=100",
                   "POSTPACE_MAX_ATTEMPTS=10", NULL};
    /* Both ways an unconfirmed target goes on: Jestha re-sent with the same
     * key (as if it were known to honour it), PostEverywhere looked up in
     * its list of posts first. */
    pgt_exec(f.conn, "UPDATE providers SET lookup = '{\"idempotent\": true}' WHERE id = 'jestha'");
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    assert_int_equal(sim_ctl_faults(&f.sim, "{\"error_ratio\":0.15,\"error_after_create_ratio\":"
                                            "0.15,\"seed\":7}"),
                     0);
    drainfx_posts(&f, "je", 20, "{main}", 0);
    drainfx_posts(&f, "pe", 10, "{pe-a,pe-b}", 0);
    assert_int_equal(drainfx_await_settled(&f, 90), 0);
    long limited, dups;
    verdict(&f, "faults", &limited, &dups);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'published'"),
                     40);
    /* Some requests really did fail and were tried again. */
    assert_true(drainfx_count(&f, "SELECT count(*) FROM attempts WHERE outcome = 'unknown'") > 0);
    drainfx_teardown(&f);
}

static void test_overdue_targets_expire_instead_of_going_out_late(void **state)
{
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    drainfx_posts(&f, "fh", 3, "{twitter}", -7200); /* two hours late: beyond the hour */
    drainfx_posts(&f, "fh", 3, "{linkedin}", -60);  /* a minute late: still goes */
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    assert_int_equal(drainfx_await_settled(&f, 30), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'expired' "
                                       "AND account_id = 'twitter'"),
                     3);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'published' AND account_id = 'linkedin'"),
                     3);
    json_t *stats = sim_ctl_stats(&f.sim);
    assert_int_equal(sim_ctl_total(stats, "create_requests"), 3);
    json_decref(stats);
    drainfx_teardown(&f);
}

static void test_sigterm_finishes_requests_in_flight_and_releases_leases(void **state)
{
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    assert_int_equal(sim_ctl_faults(&f.sim, "{\"latency_ms\":1500}"), 0);
    drainfx_posts(&f, "pl", 4, "{blog1}", 0);
    /* In flight: sent, not answered (its webhook may already have settled it). */
    assert_int_equal(
        drainfx_await_count(&f, "SELECT count(*) FROM attempts WHERE finished_at IS NULL", 1), 0);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    /* What was in flight got its answer and was recorded; nothing is left claimed. */
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'publishing'"),
                     0);
    assert_true(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status IN "
                                  "('submitted', 'published')") >= 1);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM attempts WHERE finished_at IS NULL"),
                     0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM key_leases"), 0);
    drainfx_teardown(&f);
}

static void test_kill9_lease_moves_and_nothing_is_sent_twice(void **state)
{
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    drainfx_posts(&f, "je", 40, "{main}", 0);
    drainfx_posts(&f, "pe", 20, "{pe-a}", 0);
    /* Instance 0 only takes webhooks (as a load balancer would spread them);
     * instances 1-3 publish and compete for the leases. */
    char *hooks[] = {"POSTPACE_SCHEDULER=0", NULL};
    char *env[] = {"POSTPACE_LEASE_TTL_MS=1500", "POSTPACE_UNCONFIRMED_RETRY_MS=2000", NULL};
    assert_int_equal(drainfx_start(&f, 0, hooks), 0);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(drainfx_start(&f, i, env), 0);
    /* Kill whichever instance leases the Jestha key once it has sent some. */
    assert_int_equal(drainfx_await_count(&f, "SELECT count(*) FROM attempts", 10), 0);
    long holder = drainfx_count(&f, "SELECT substr(owner, 10)::int FROM key_leases l "
                                    "JOIN provider_keys k ON k.id = l.group_id WHERE k.label = 'je'");
    assert_true(holder >= 1 && holder <= 3);
    assert_int_equal(drainfx_stop(&f, (int)holder, 1), 128 + 9);
    assert_int_equal(drainfx_await_settled(&f, 90), 0);
    long limited, dups;
    verdict(&f, "kill -9", &limited, &dups);
    assert_int_equal(dups, 0);
    assert_int_equal(limited, 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'published'"),
                     60);
    /* The lease moved to a survivor. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM key_leases l JOIN provider_keys k ON k.id = l.group_id "
             "WHERE k.label = 'je' AND owner <> 'instance-%ld'",
             holder);
    assert_int_equal(drainfx_count(&f, sql), 1);
    drainfx_teardown(&f);
}

/* The daemon's postpace_scheduler_notifies_total, or -1. */
static long notifies(struct drainfx *f)
{
    char url[64], *text = malloc(1 << 17);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", f->ports[0]);
    long n = -1;
    if (http_request("GET", url, NULL, NULL, 0, text, 1 << 17) == 200) {
        const char *at = strstr(text, "\npostpace_scheduler_notifies_total ");
        n = at ? atol(at + strlen("\npostpace_scheduler_notifies_total ")) : -1;
    }
    free(text);
    return n;
}

/* NOTIFY wakes the scheduler, and rows written with no NOTIFY at all (the
 * trigger disabled, as a bulk loader might) are still picked up. */
static void test_notify_wakes_the_scheduler_and_is_not_required(void **state)
{
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    /* A first batch: once it is sent the scheduler has surely connected
     * and listens (posts written before its LISTEN wake nobody: it finds
     * them on its own, and this test once raced that). */
    drainfx_posts(&f, "fh", 3, "{twitter}", 0);
    const char *sent = "SELECT count(*) FROM post_targets WHERE status IN ('submitted', 'published')";
    assert_int_equal(drainfx_await_count(&f, sent, 3), 0);
    long before = notifies(&f);
    drainfx_posts(&f, "fh", 3, "{twitter}", 0);
    assert_int_equal(drainfx_await_count(&f, sent, 6), 0);
    long woken = notifies(&f);
    for (int i = 0; i < 100 && woken <= before; i++) { /* bounded: 5 s */
        usleep(50 * 1000);
        woken = notifies(&f);
    }
    assert_true(woken > before);

    /* Every wake-up silenced (posts_expand's and the updates'): the scheduler polls. */
    pgt_exec(f.conn, "CREATE OR REPLACE FUNCTION postpace_wake(due timestamptz) RETURNS void "
                     "LANGUAGE plpgsql AS 'BEGIN END'");
    drainfx_posts(&f, "fh", 3, "{twitter}", 0);
    assert_int_equal(drainfx_await_count(&f, sent, 9), 0);
    assert_int_equal(notifies(&f), woken);
    long limited, dups;
    verdict(&f, "notify", &limited, &dups);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    drainfx_teardown(&f);
}

/* Another client already spent 85 of the key's 100 per rolling minute: the
 * daemon learns it from X-RateLimit-Remaining and waits instead of sending
 * into a full window (its own count alone would allow 85 more). */
static void test_shared_key_adapts_from_rate_limit_headers(void **state)
{
    struct drainfx f;
    assert_int_equal(drainfx_setup_scaled(&f, 20), 0);
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    const struct prov_ops *ops = prov_ops(PROV_FEEDHORIZON);
    char url[256], auth[128];
    snprintf(url, sizeof url, "%s/feedhorizon/v1%s", f.sim.base, ops->create_path);
    snprintf(auth, sizeof auth, "%sfh_1", ops->auth_prefix);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    const char *accounts[] = {"twitter"};
    for (int i = 0; i < 85; i++) {
        char ref[32], text[64], resp[4096];
        snprintf(ref, sizeof ref, "other-client-%d", i);
        snprintf(text, sizeof text, "the other client's post %d", i);
        struct prov_post post = {text, "[]", accounts, 1, ref, NULL};
        char *body = ops->encode_create(&post);
        long st = http_request("POST", url, headers, body, strlen(body), resp, sizeof resp);
        free(body);
        assert_true(st >= 200 && st < 300);
    }
    drainfx_posts(&f, "fh", 20, "{twitter}", 0);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    long limited, dups;
    verdict(&f, "shared key", &limited, &dups);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'published'"),
                     20);
    drainfx_teardown(&f);
}

/* A request claimed ahead of its slot (claim_ahead_ms) waits, committed,
 * for the moment the limiter allows it. Stopped before then, it is not sent:
 * its target goes back to scheduled with the try uncounted, its attempts
 * row says so and counts in no window, and the next daemon sends it once. */
static void test_a_request_waiting_for_its_slot_is_put_back_at_stop(void **state)
{
    struct drainfx f;
    /* Real time: Jestha's 10 posts per minute allow one send every ~6 s, so
     * the second request waits armed well past the 2 s shutdown grace
     * (which lets the HTTP side close its connections cleanly). */
    assert_int_equal(drainfx_setup_scaled(&f, 1), 0);
    char *env[] = {"POSTPACE_CLAIM_AHEAD_MS=10000", "POSTPACE_SHUTDOWN_GRACE_MS=2000", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    drainfx_posts(&f, "je", 2, "{main}", 0);
    /* The first answered, the second claimed and waiting for its slot. */
    assert_int_equal(
        drainfx_await_count(&f, "SELECT count(*) FROM attempts WHERE finished_at IS NOT NULL", 1),
        0);
    assert_int_equal(drainfx_await_count(&f, "SELECT count(*) FROM attempts", 2), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'publishing'"),
                     1);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    json_t *stats = sim_ctl_stats(&f.sim);
    assert_int_equal(sim_ctl_total(stats, "create_requests"), 1);
    json_decref(stats);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'scheduled' AND attempts = 0"),
                     1);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM attempts WHERE outcome = "
                                       "'retryable' AND http_status IS NULL AND "
                                       "response_excerpt LIKE 'not sent:%'"),
                     1);
    /* The next daemon sends it, once (starting it resets the simulator's
     * counts, but not its memory of the first request's key). */
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    assert_int_equal(drainfx_await_settled(&f, 30), 0);
    long limited, dups;
    verdict(&f, "claim ahead", &limited, &dups);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    stats = sim_ctl_stats(&f.sim);
    assert_int_equal(sim_ctl_total(stats, "create_requests"), 1);
    json_decref(stats);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'published'"),
                     2);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5xx_and_5xx_after_create_settle_without_duplicates),
        cmocka_unit_test(test_overdue_targets_expire_instead_of_going_out_late),
        cmocka_unit_test(test_sigterm_finishes_requests_in_flight_and_releases_leases),
        cmocka_unit_test(test_kill9_lease_moves_and_nothing_is_sent_twice),
        cmocka_unit_test(test_notify_wakes_the_scheduler_and_is_not_required),
        cmocka_unit_test(test_shared_key_adapts_from_rate_limit_headers),
        cmocka_unit_test(test_a_request_waiting_for_its_slot_is_put_back_at_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
