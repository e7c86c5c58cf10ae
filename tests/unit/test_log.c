/* Unit tests for log: logfmt quoting and password redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/log.h"

static void test_quote_leaves_plain_values_bare(void **state)
{
    char buf[64];
    assert_string_equal(log_quote("abc-1.2", buf, sizeof buf), "abc-1.2");
}

static void test_quote_escapes_spaces_quotes_and_newlines(void **state)
{
    char buf[64];
    assert_string_equal(log_quote("a \"b\"\nc", buf, sizeof buf), "\"a \\\"b\\\"\\nc\"");
    assert_string_equal(log_quote("", buf, sizeof buf), "\"\"");
}

static void test_redacts_password_in_url(void **state)
{
    char buf[256];
    assert_string_equal(log_redact_conninfo("postgres://bob:s3cret@db:5432/pp", buf, sizeof buf),
                        "postgres://bob:***@db:5432/pp");
    assert_string_equal(
        log_redact_conninfo("postgresql://db/pp?user=bob&password=s3cret&sslmode=require", buf,
                            sizeof buf),
        "postgresql://db/pp?user=bob&password=***&sslmode=require");
}

static void test_redacts_password_in_keyword_form(void **state)
{
    char buf[256];
    assert_string_equal(log_redact_conninfo("host=db password = 'a b\\'c' user=x", buf, sizeof buf),
                        "host=db password=*** user=x");
    assert_string_equal(log_redact_conninfo("host=db user=x", buf, sizeof buf), "host=db user=x");
}

static void test_line_is_logfmt_and_respects_level(void **state)
{
    char out[512] = {0};
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    log_set_stream(f);
    log_set_level(LOG_WARN);
    log_info("hidden", NULL);
    log_warn("disk is slow", "ms=%d", 12);
    fclose(f);
    log_set_stream(NULL);
    log_set_level(LOG_INFO);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " level=warn msg=\"disk is slow\" ms=12\n"));
    assert_memory_equal(out, "ts=", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_leaves_plain_values_bare),
        cmocka_unit_test(test_quote_escapes_spaces_quotes_and_newlines),
        cmocka_unit_test(test_redacts_password_in_url),
        cmocka_unit_test(test_redacts_password_in_keyword_form),
        cmocka_unit_test(test_line_is_logfmt_and_respects_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
