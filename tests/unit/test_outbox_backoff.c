/*
 * The outbox's retry schedule (src/outbox/outbox.h), pure: exponential from
 * outbox_backoff_ms, capped, jittered 75-125 %, and dead once the next try
 * would start past the retry period.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "outbox/outbox.h"

static void test_the_delay_doubles_up_to_its_cap(void **state)
{
    (void)state;
    /* r = 0.5 is the middle of the jitter: the plain schedule. */
    assert_int_equal(outbox_delay_ms(1, 5000, 3600000, 0.5), 5000);
    assert_int_equal(outbox_delay_ms(2, 5000, 3600000, 0.5), 10000);
    assert_int_equal(outbox_delay_ms(5, 5000, 3600000, 0.5), 80000);
    assert_int_equal(outbox_delay_ms(30, 5000, 3600000, 0.5), 3600000);
    assert_int_equal(outbox_delay_ms(1000, 5000, 3600000, 0.5), 3600000);
}

static void test_the_jitter_stays_within_a_quarter(void **state)
{
    (void)state;
    assert_int_equal(outbox_delay_ms(3, 1000, 60000, 0.0), 3000);
    assert_true(outbox_delay_ms(3, 1000, 60000, 0.999999) < 5000);
    assert_true(outbox_delay_ms(3, 1000, 60000, 0.999999) >= 4999);
}

static void test_a_delivery_dies_when_its_next_try_would_pass_the_period(void **state)
{
    (void)state;
    const uint64_t day = 86400000, start = 1000000;
    /* Early on: the next delay. */
    assert_int_equal(outbox_next_try(1, start + 1000, start, day, 5000, 3600000, 0.5), 5000);
    /* An hour's delay that would end inside the day: still tried. */
    assert_int_equal(outbox_next_try(30, start + day - 3600000, start, day, 5000, 3600000, 0.5),
                     3600000);
    /* One that would end after it: dead. */
    assert_int_equal(outbox_next_try(30, start + day - 3599999 + 1, start, day, 5000, 3600000, 0.5),
                     -1);
    /* A replay restarts the period (retry_from moves): alive again. */
    uint64_t replayed = start + day + 5000;
    assert_int_equal(outbox_next_try(31, replayed + 10, replayed, day, 5000, 3600000, 0.5),
                     3600000);
}

/* With the defaults, a subscriber that never answers is tried for the whole 24 h. */
static void test_the_default_schedule_spans_the_day(void **state)
{
    (void)state;
    const uint64_t day = 86400000;
    uint64_t t = 0;
    int tries = 1;
    for (;;) {
        int64_t d = outbox_next_try(tries, t, 0, day, 5000, 3600000, 0.5);
        if (d < 0)
            break;
        t += (uint64_t)d;
        tries++;
    }
    assert_true(t > day - 3600000 && t <= day);
    assert_true(tries > 20 && tries < 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_delay_doubles_up_to_its_cap),
        cmocka_unit_test(test_the_jitter_stays_within_a_quarter),
        cmocka_unit_test(test_a_delivery_dies_when_its_next_try_would_pass_the_period),
        cmocka_unit_test(test_the_default_schedule_spans_the_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
