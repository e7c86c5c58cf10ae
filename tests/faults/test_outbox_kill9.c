/*
 * kill -9 of the daemon that delivers outgoing webhooks, while the
 * subscriber holds its requests unanswered (every slot busy, so the kill
 * always lands mid-delivery), twice, each restarted at once: in the end
 * every event was answered 2xx at least once under its one id, and the
 * requests the kill cut off (answered 500 once released: they count for
 * nothing) were sent again after their claim lapsed.
 *
 * Daemon 0 publishes and takes the webhooks (no outbox); daemon 1 only
 * delivers the outbox, so killing it disturbs nothing else.
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
#include "pgtest.h"
#include "subscriber.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define KILLS 2
#define SLOTS 4

static void test_kill9_mid_delivery_loses_no_event(void **state)
{
    (void)state;
    unsigned seed = ffx_seed("outbox_kill9");
    struct drainfx f;
    struct subscriber sub;
    assert_int_equal(sub_start(&sub, 1), 0);
    assert_int_equal(drainfx_setup_scaled(&f, 60), 0);
    sub_add_oracle(f.conn);
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO subscriptions (url, secret_ref) VALUES ('http://127.0.0.1:%d/x', "
             "'env:TEST_APP_WHSEC')",
             sub.port);
    pgt_exec(f.conn, sql);
    char *publisher[] = {"POSTPACE_OUTBOX=0", NULL};
    char *outbox[] = {"POSTPACE_SCHEDULER=0",        "TEST_APP_WHSEC=" WHSEC,
                      "POSTPACE_OUTBOX_CONCURRENCY=4", "POSTPACE_OUTBOX_TIMEOUT_MS=1000",
                      "POSTPACE_OUTBOX_BACKOFF_MS=50", "POSTPACE_OUTBOX_BACKOFF_MAX_MS=200", NULL};
    assert_int_equal(drainfx_start(&f, 0, publisher), 0);
    drainfx_posts(&f, "pe", 20, "{pe-a,pe-b}", 0);
    drainfx_posts(&f, "fh", 30, "{x}", 0);
    drainfx_posts(&f, "je", 20, "{main}", 0);

    size_t cut_off = 0;
    for (int k = 0; k < KILLS; k++) {
        sub_set_held(&sub, 1);
        assert_int_equal(drainfx_start(&f, 1, outbox), 0);
        /* Every slot busy with a held request: the kill is mid-delivery. */
        assert_int_equal(sub_await_holding(&sub, SLOTS, 60), 0);
        drainfx_stop(&f, 1, 1);
        pthread_mutex_lock(&sub.lock);
        int held = sub.holding;
        pthread_mutex_unlock(&sub.lock);
        sub_fail_first(&sub, held);
        sub_set_held(&sub, 0);
        cut_off += (size_t)held;
    }
    assert_int_equal(drainfx_start(&f, 1, outbox), 0);
    assert_int_equal(drainfx_await_settled(&f, 120), 0);
    long events = drainfx_count(&f, "SELECT count(*) FROM outbox");
    assert_int_equal(
        drainfx_await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'delivered'", events),
        0);
    assert_int_equal(drainfx_stop(&f, 1, 0), 0);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    sub_check_deliveries(&f, &sub, WHSEC);
    printf("outbox_kill9: seed=%u kills=%d events=%ld cut_off=%zu requests=%zu ok=%zu\n", seed,
           KILLS, events, cut_off, sub.requests, sub.ok);
    assert_true(cut_off >= SLOTS * KILLS);
    drainfx_teardown(&f);
    sub_stop(&sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_mid_delivery_loses_no_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
