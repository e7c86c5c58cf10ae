/* rfc3339: the one time grammar and range every input shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/rfc3339.h"

static enum rfc3339_err parse(const char *s, struct rfc3339_time *t)
{
    return rfc3339_parse(s, strlen(s), t);
}

static void test_every_form_of_the_grammar_is_read(void **state)
{
    struct rfc3339_time t;
    char local[32], off[8];
    assert_int_equal(parse("2026-12-01T09:00:00+01:00", &t), RFC3339_E_OK);
    rfc3339_local_text(&t, local, sizeof local);
    rfc3339_offset_text(&t, off, sizeof off);
    assert_string_equal(local, "2026-12-01 09:00:00.000000");
    assert_string_equal(off, "+01:00");
    assert_int_equal(rfc3339_to_us(&t), INT64_C(1796112000) * 1000000);
    assert_int_equal(parse("2026-12-01 09:00z", &t), RFC3339_E_OK);
    assert_int_equal(t.offset_min, 0);
    assert_true(t.has_offset);
    assert_int_equal(parse("2026-03-29t02:30:15.25", &t), RFC3339_E_OK);
    assert_false(t.has_offset);
    assert_int_equal(t.usec, 250000);
    assert_int_equal(parse("2026-12-01T09:00-0530", &t), RFC3339_E_OK);
    assert_int_equal(t.offset_min, -330);
    assert_int_equal(parse("2026-12-01T09:00+02", &t), RFC3339_E_OK);
    assert_int_equal(t.offset_min, 120);
    assert_int_equal(parse("2028-02-29T10:00:00.123456Z", &t), RFC3339_E_OK);
}

static void test_each_mistake_gets_its_own_reason(void **state)
{
    static const struct {
        const char *in;
        enum rfc3339_err want;
    } cases[] = {
        {"tomorrow", RFC3339_E_SYNTAX},
        {"", RFC3339_E_SYNTAX},
        {"2026-12-01", RFC3339_E_SYNTAX},
        {"01/12/2026 10:00", RFC3339_E_SYNTAX},
        {"2026-02-29T10:00Z", RFC3339_E_DATE},
        {"2026-13-01T10:00Z", RFC3339_E_DATE},
        {"2026-12-00T10:00Z", RFC3339_E_DATE},
        {"2026-12-01T24:00Z", RFC3339_E_TIME},
        {"2026-12-01T10:60Z", RFC3339_E_TIME},
        {"2016-12-31T23:59:60Z", RFC3339_E_LEAP},
        {"2026-12-01T10:00:00.1234567Z", RFC3339_E_FRACTION},
        {"2026-12-01T10:00:00.Z", RFC3339_E_FRACTION},
        {"2026-12-01T10:00+1", RFC3339_E_OFFSET},
        {"2026-12-01T10:00+16:00", RFC3339_E_OFFSET},
        {"2026-12-01T10:00+01:60", RFC3339_E_OFFSET},
        {"2026-12-01T10:00:00Zjunk", RFC3339_E_TRAILING},
        {"2026-12-01 10:00 UTC", RFC3339_E_TRAILING},
    };
    struct rfc3339_time t;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum rfc3339_err e = parse(cases[i].in, &t);
        if (e != cases[i].want)
            print_error("\"%s\": got %s\n", cases[i].in, rfc3339_strerror(e));
        assert_int_equal(e, cases[i].want);
    }
}

/* The range holds in UTC, after the offset: no year 0 shown as BC, no year 10000. */
static void test_range_holds_after_the_offset_is_applied(void **state)
{
    struct rfc3339_time t;
    assert_int_equal(parse("1970-01-01T00:00:00Z", &t), RFC3339_E_OK);
    assert_int_equal(rfc3339_to_us(&t), RFC3339_MIN_US);
    assert_int_equal(parse("9999-12-31T23:59:59.999999Z", &t), RFC3339_E_OK);
    assert_int_equal(rfc3339_to_us(&t), RFC3339_MAX_US);
    assert_int_equal(parse("0001-01-01T00:00:00+01:00", &t), RFC3339_E_RANGE);
    assert_int_equal(parse("0001-01-01T00:00:00Z", &t), RFC3339_E_RANGE);
    assert_int_equal(parse("1969-12-31T23:59:59.999999Z", &t), RFC3339_E_RANGE);
    assert_int_equal(parse("1970-01-01T00:30:00+01:00", &t), RFC3339_E_RANGE);
    assert_int_equal(parse("9999-12-31T23:59:59-15:00", &t), RFC3339_E_RANGE);
    assert_int_equal(parse("9999-12-31T20:00:00+01:00", &t), RFC3339_E_OK);
    assert_int_equal(parse("0000-01-01T00:00:00Z", &t), RFC3339_E_RANGE);
}

/* A local time is placed by its zone later: it keeps clear of both ends. */
static void test_a_local_time_near_the_ends_needs_an_offset(void **state)
{
    struct rfc3339_time t;
    assert_int_equal(parse("1970-01-01T09:00:00", &t), RFC3339_E_EDGE);
    assert_int_equal(parse("9999-12-31T12:00:00", &t), RFC3339_E_EDGE);
    assert_int_equal(parse("1970-01-01T16:00:00", &t), RFC3339_E_OK);
    assert_int_equal(parse("9999-12-31T07:59:59", &t), RFC3339_E_OK);
    assert_int_equal(parse("1969-12-31T23:00:00", &t), RFC3339_E_RANGE);
}

static void test_instants_need_an_offset(void **state)
{
    int64_t us;
    assert_int_equal(rfc3339_parse_instant("2024-03-05T14:00:00", &us), RFC3339_E_NEED_OFFSET);
    assert_int_equal(rfc3339_parse_instant("1970-01-01T01:00:00+01:00", &us), RFC3339_E_OK);
    assert_int_equal(us, 0);
}

/* Lengths bound the scan: an import field is not NUL-terminated where the time ends. */
static void test_the_length_bounds_the_scan(void **state)
{
    struct rfc3339_time t;
    const char *s = "2026-12-01T09:00Z,next";
    assert_int_equal(rfc3339_parse(s, 17, &t), RFC3339_E_OK);
    assert_int_equal(rfc3339_parse(s, 16, &t), RFC3339_E_OK);
    assert_false(t.has_offset);
    assert_int_equal(rfc3339_parse(s, 15, &t), RFC3339_E_SYNTAX);
    assert_int_equal(rfc3339_parse("2026-12-01T09:00\0Z", 18, &t), RFC3339_E_TRAILING);
}

static void test_format_prints_what_parse_reads(void **state)
{
    char buf[40];
    rfc3339_format_ms(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    rfc3339_format_ms(RFC3339_MAX_US / 1000, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    int64_t us;
    assert_int_equal(rfc3339_parse_instant(buf, &us), RFC3339_E_OK);
    assert_int_equal(us / 1000, RFC3339_MAX_US / 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_form_of_the_grammar_is_read),
        cmocka_unit_test(test_each_mistake_gets_its_own_reason),
        cmocka_unit_test(test_range_holds_after_the_offset_is_applied),
        cmocka_unit_test(test_a_local_time_near_the_ends_needs_an_offset),
        cmocka_unit_test(test_instants_need_an_offset),
        cmocka_unit_test(test_the_length_bounds_the_scan),
        cmocka_unit_test(test_format_prints_what_parse_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
