/* provider: what postpace reads from any provider's answer, whatever the provider. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "provider/provider.h"

/* 2015-10-21T07:28:00Z, the date RFC 9110's examples use. */
#define RFC_DATE_S INT64_C(1445412480)

static void test_retry_after_reads_delay_seconds(void **state)
{
    (void)state;
    assert_int_equal(prov_retry_after_s("120", RFC_DATE_S), 120);
    assert_int_equal(prov_retry_after_s(" 0\r\n", RFC_DATE_S), 0);
    assert_int_equal(prov_retry_after_s("\t7 ", RFC_DATE_S), 7);
}

/* The old reading (atoll) took every HTTP-date for 0 s: a 429 then blocked
 * its bucket for no time at all. */
static void test_retry_after_reads_every_http_date_form_against_now(void **state)
{
    (void)state;
    int64_t now = RFC_DATE_S - 90;
    assert_int_equal(prov_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now), 90);
    assert_int_equal(prov_retry_after_s("Wednesday, 21-Oct-15 07:28:00 GMT", now), 90);
    assert_int_equal(prov_retry_after_s("Wed Oct 21 07:28:00 2015", now), 90);
    assert_int_equal(prov_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT\r\n", now), 90);
}

static void test_retry_after_in_the_past_is_now(void **state)
{
    (void)state;
    assert_int_equal(prov_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", RFC_DATE_S + 5), 0);
}

static void test_retry_after_that_is_neither_form_is_absent(void **state)
{
    (void)state;
    assert_int_equal(prov_retry_after_s("", RFC_DATE_S), -1);
    assert_int_equal(prov_retry_after_s("soon", RFC_DATE_S), -1);
    assert_int_equal(prov_retry_after_s("-5", RFC_DATE_S), -1);
    assert_int_equal(prov_retry_after_s("1.5", RFC_DATE_S), -1);
}

static void test_retry_after_saturates_absurd_delays(void **state)
{
    (void)state;
    assert_true(prov_retry_after_s("99999999999999999999999", RFC_DATE_S) >= 999999999);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_reads_delay_seconds),
        cmocka_unit_test(test_retry_after_reads_every_http_date_form_against_now),
        cmocka_unit_test(test_retry_after_in_the_past_is_now),
        cmocka_unit_test(test_retry_after_that_is_neither_form_is_absent),
        cmocka_unit_test(test_retry_after_saturates_absurd_delays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
