/* api_input: times, cursors, query strings and post bodies read on the loop thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/api_int.h"
#include "util/rfc3339.h"

static void test_time_with_offset_local_and_fraction(void **state)
{
    char local[96], off[32];
    assert_null(api_time_parse("2026-12-01T09:00:00+01:00", local, off));
    assert_string_equal(local, "2026-12-01 09:00:00.000000");
    assert_string_equal(off, "+01:00");
    assert_null(api_time_parse("2026-12-01 09:00Z", local, off));
    assert_string_equal(off, "+00:00");
    assert_null(api_time_parse("2026-03-29T02:30:15.25", local, off));
    assert_string_equal(local, "2026-03-29 02:30:15.250000");
    assert_string_equal(off, "");
    assert_null(api_time_parse("2026-12-01T09:00-0530", local, off));
    assert_string_equal(off, "-05:30");
}

static void test_impossible_times_are_refused(void **state)
{
    static const char *const bad[] = {"2026-02-29T10:00Z", "2026-13-01T10:00Z", "2026-12-01",
                                      "2026-12-01T24:00Z", "2026-12-01T10:60Z", "tomorrow",
                                      "2026-12-01T10:00:00.1234567Z", "2026-12-01T10:00+1",
                                      "2026-12-01T10:00:00Zjunk", ""};
    char local[96], off[32];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_non_null(api_time_parse(bad[i], local, off));
    assert_null(api_time_parse("2028-02-29T10:00Z", local, off));
    /* The cases: out of range in UTC, a leap second. */
    assert_string_equal(api_time_parse("0001-01-01T00:00:00+01:00", local, off),
                        rfc3339_strerror(RFC3339_E_RANGE));
    assert_string_equal(api_time_parse("9999-12-31T23:59:59-15:00", local, off),
                        rfc3339_strerror(RFC3339_E_RANGE));
    assert_string_equal(api_time_parse("2016-12-31T23:59:60Z", local, off),
                        rfc3339_strerror(RFC3339_E_LEAP));
}

static void test_cursor_round_trips_and_refuses_forgeries(void **state)
{
    char *c = api_cursor_encode("1924948800000000", "42"), *us, *id;
    assert_int_equal(api_cursor_decode(c, &us, &id), 0);
    assert_string_equal(us, "1924948800000000");
    assert_string_equal(id, "42");
    free(c), free(us), free(id);
    assert_int_equal(api_cursor_decode("zz", &us, &id), -1);
    assert_int_equal(api_cursor_decode("djE6MTox'", &us, &id), -1);
    assert_int_equal(api_cursor_decode("", &us, &id), -1);
    /* Well-formed but forged: a time outside the range (it was a 500 in SQL). */
    c = api_cursor_encode("999999999999999999", "1");
    assert_int_equal(api_cursor_decode(c, &us, &id), -1);
    free(c);
    c = api_cursor_encode("-1", "1");
    assert_int_equal(api_cursor_decode(c, &us, &id), -1);
    free(c);
}

static void test_query_parameters_are_decoded(void **state)
{
    const char *p = "/v1/posts?key=a%2Fb&from=2026-01-01T00:00:00%2B01:00&flag&x=1+2";
    size_t q = (size_t)(strchr(p, '?') - p), n = strlen(p);
    char *v = api_query_get(p, n, q, "key");
    assert_string_equal(v, "a/b");
    free(v);
    v = api_query_get(p, n, q, "from");
    assert_string_equal(v, "2026-01-01T00:00:00+01:00");
    free(v);
    v = api_query_get(p, n, q, "flag");
    assert_string_equal(v, "");
    free(v);
    v = api_query_get(p, n, q, "x");
    assert_string_equal(v, "1 2");
    free(v);
    assert_null(api_query_get(p, n, q, "ke"));
    assert_null(api_query_get(p, n, SIZE_MAX, "key"));
}

static void test_body_problems_are_named_per_field(void **state)
{
    struct api_post_in *in = calloc(1, sizeof *in);
    const char *body = "{\"provider_key\":0,\"account_ids\":[\"a\",\"\"],\"content\":\"\\t\","
                       "\"media\":[{\"url\":\"u\",\"mime_type\":\"image/png\",\"size_bytes\":-1},7],"
                       "\"external_id\":\"\",\"extra\":1}";
    assert_int_equal(api_post_parse(body, strlen(body), 0, in), 0);
    assert_non_null(json_object_get(in->details, "provider_key"));
    assert_non_null(json_object_get(in->details, "account_ids"));
    assert_string_equal(json_string_value(json_object_get(in->details, "content")), "empty");
    assert_string_equal(json_string_value(json_object_get(in->details, "media")),
                        "file 1: size_bytes must be a whole number of bytes; file 2: must be an "
                        "object {\"url\",\"mime_type\",\"size_bytes\"}");
    assert_non_null(json_object_get(in->details, "external_id"));
    assert_string_equal(json_string_value(json_object_get(in->details, "extra")), "unknown field");
    assert_string_equal(json_string_value(json_object_get(in->details, "scheduled_at")), "required");
    api_post_in_free(in);

    in = calloc(1, sizeof *in);
    assert_int_equal(api_post_parse("[]", 2, 0, in), -1);
    api_post_in_free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_with_offset_local_and_fraction),
        cmocka_unit_test(test_impossible_times_are_refused),
        cmocka_unit_test(test_cursor_round_trips_and_refuses_forgeries),
        cmocka_unit_test(test_query_parameters_are_decoded),
        cmocka_unit_test(test_body_problems_are_named_per_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
