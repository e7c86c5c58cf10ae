/*
 * The main job end to end: postpace serve drains a calendar across all five
 * providers of the simulator (time scale 60: a minute lasts a second), and
 * learns each post's fate from the simulator's signed webhooks. The verdict
 * is the simulator's: zero 429s, zero duplicates, everything created once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "drainfx.h"

static void test_drain_all_providers_without_429_or_duplicates(void **state)
{
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    drainfx_posts(&f, "pe", 30, "{pe-a,pe-b,pe-c}", 0);
    drainfx_posts(&f, "sp", 12, "{sp-a,sp-b}", 0);
    drainfx_posts(&f, "fh", 30, "{twitter,linkedin}", 0);
    drainfx_posts(&f, "pl", 30, "{blog1}", 0);
    drainfx_posts(&f, "je", 30, "{main}", 0);
    long total = drainfx_count(&f, "SELECT count(*) FROM post_targets");
    assert_int_equal(total, 90 + 24 + 60 + 30 + 30);
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);

    int settled = drainfx_await_settled(&f, 120);
    json_t *stats = sim_ctl_stats(&f.sim);
    assert_non_null(stats);
    long created = sim_ctl_total(stats, "created"), limited = sim_ctl_total(stats, "rate_limited"),
         dups = sim_ctl_total(stats, "duplicates"), requests = sim_ctl_total(stats, "create_requests");
    long published = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'published'");
    printf("drain: %ld targets, %ld create requests, %ld created, %ld 429s, %ld duplicates, "
           "%ld published\n",
           total, requests, created, limited, dups, published);
    if (settled != 0 || limited != 0) {
        char *text = json_dumps(json_object_get(stats, "providers"), JSON_INDENT(1));
        fprintf(stderr, "%s\n%s\n", text, f.daemons[0].out);
        free(text);
    }
    assert_int_equal(settled, 0);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(created, total);
    /* Batching: one request per post where the provider takes several accounts. */
    assert_int_equal(requests, 30 + 12 + 30 + 30 + 30);
    assert_int_equal(published, total);
    json_decref(stats);

    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM key_leases"), 0);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_all_providers_without_429_or_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
