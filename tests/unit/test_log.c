/* Unit tests for log: typed fields, logfmt quoting, the line cap, secret masking and password
 * redaction; every line written is read back with the strict parser of tests/support. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logfmt.h"
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

/* Runs fn with the log going to a memory buffer; returns what was written (caller frees). */
static char *capture(void (*fn)(void *), void *arg)
{
    static char buf[1 << 20];
    memset(buf, 0, sizeof buf);
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    log_set_stream(f);
    fn(arg);
    log_set_stream(NULL);
    fclose(f);
    return strdup(buf);
}

static void parse_all(const char *text, int want_lines)
{
    char err[512];
    int n = lf_check_text(text, err, sizeof err);
    if (n < 0)
        fail_msg("not logfmt: %s", err);
    assert_int_equal(n, want_lines);
}

static void log_level_lines(void *arg)
{
    log_set_level(LOG_WARN);
    log_info("hidden");
    log_warn("disk is slow", LOG_INT("ms", 12));
    log_set_level(LOG_INFO);
}

static void test_line_is_logfmt_and_respects_level(void **state)
{
    char *out = capture(log_level_lines, NULL);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " level=warn msg=\"disk is slow\" ms=12\n"));
    assert_memory_equal(out, "ts=", 3);
    parse_all(out, 1);
    free(out);
}

static void log_typed(void *arg)
{
    log_info("typed", LOG_STR("instance", "web 1"), LOG_STR("crlf", "a\r\nb"), LOG_INT("neg", -3),
             LOG_UINT("big", 18446744073709551615ull), LOG_BOOL("ok", 1), LOG_DBL("x", 0.5),
             LOG_STR("null", NULL), LOG_STR("bad key=\"", "v"), LOG_STR("", "w"));
}

static void test_every_value_goes_through_the_quoting(void **state)
{
    char *out = capture(log_typed, NULL);
    assert_non_null(strstr(out, " instance=\"web 1\" crlf=\"a\\r\\nb\" neg=-3 "
                                "big=18446744073709551615 ok=true x=0.5 null=\"\" bad_key__=v _=w\n"));
    parse_all(out, 1);
    free(out);
}

static void test_quote_escapes_control_del_and_invalid_utf8(void **state)
{
    char buf[128];
    assert_string_equal(log_quote("a\tb\x01\x7f", buf, sizeof buf), "\"a\\tb\\u0001\\u007f\"");
    assert_string_equal(log_quote("caf\xc3\xa9", buf, sizeof buf), "\"caf\xc3\xa9\"");
    assert_string_equal(log_quote("x\xc3(\xff\xed\xa0\x80", buf, sizeof buf),
                        "\"x\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\"");
    /* Too small a buffer: cut before an escape, the quote still closed. */
    assert_string_equal(log_quote("ab\ncd", buf, 6), "\"ab\"");
}

static void log_long(void *arg)
{
    static char big[900];
    memset(big, 'x', sizeof big - 1);
    big[10] = ' ';
    log_error("long", LOG_STR("a", big), LOG_STR("b", big), LOG_STR("c", big), LOG_INT("d", 1));
}

static void test_cap_drops_whole_trailing_fields(void **state)
{
    char *out = capture(log_long, NULL);
    size_t len = strlen(out);
    assert_true(len <= LOG_LINE_MAX);
    static struct lf_pair pairs[16];
    char err[256];
    int n = lf_parse_line(out, len, pairs, 16, err, sizeof err);
    if (n < 0)
        fail_msg("not logfmt: %s: %s", err, out);
    assert_string_equal(lf_get(pairs, n, "truncated"), "true");
    assert_int_equal(strlen(lf_get(pairs, n, "a")), 899);
    assert_int_equal(strlen(lf_get(pairs, n, "b")), 899);
    assert_null(lf_get(pairs, n, "c")); /* dropped whole, and everything after it */
    assert_null(lf_get(pairs, n, "d"));
    free(out);
}

static void log_secrets(void *arg)
{
    log_secret_add("My%Pa55word");
    log_secret_add("tok\"en-with-quote");
    log_error("failed for My%Pa55word", LOG_STR("reason", "invalid token: \"My%Pa55word\""),
              LOG_STR("t", "Bearer tok\"en-with-quote!"));
    log_secret_forget_all();
    log_info("after", LOG_STR("v", "My%Pa55word"));
}

static void test_registered_secrets_are_masked_everywhere(void **state)
{
    char *out = capture(log_secrets, NULL);
    char *second = strchr(out, '\n') + 1;
    second[-1] = '\0';
    assert_null(strstr(out, "Pa55"));
    assert_null(strstr(out, "en-with"));
    assert_non_null(strstr(out, "msg=\"failed for ***\" reason=\"invalid token: \\\"***\\\"\" "
                                "t=\"Bearer ***!\""));
    assert_non_null(strstr(second, "v=My%Pa55word")); /* forgotten: shown again */
    free(out);
}

/* Random values (controls, quotes, spaces, multi-byte, invalid bytes) parse back. */
struct fuzz {
    char values[200][64];
    int valid[200];
};

static void log_fuzz(void *arg)
{
    struct fuzz *z = arg;
    for (int i = 0; i < 200; i++)
        log_info("fuzz", LOG_STR("v", z->values[i]), LOG_INT("i", i));
}

static void fill(char *v, size_t size, int *valid)
{
    static const char *const pieces[] = {" ", "\"", "\\", "=", "\n", "\r", "\t", "\x01", "\x7f",
                                         "a", "Z", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                         "\xff", "\xc3", "\xed\xa0\x80", "#", "***"};
    size_t n = (size_t)(rand() % 12), o = 0;
    *valid = 1;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)rand() % (sizeof pieces / sizeof pieces[0]);
        size_t l = strlen(pieces[k]);
        if (o + l + 1 >= size)
            break;
        memcpy(v + o, pieces[k], l);
        o += l;
        *valid &= k < 14 || k > 16;
    }
    v[o] = '\0';
}

static void test_fuzzed_values_parse_back(void **state)
{
    static struct fuzz z;
    srand(20261205);
    for (int i = 0; i < 200; i++)
        fill(z.values[i], sizeof z.values[i], &z.valid[i]);
    char *out = capture(log_fuzz, &z);
    parse_all(out, 200);
    static struct lf_pair pairs[8];
    char err[256];
    const char *p = out;
    for (int i = 0; i < 200; i++) {
        const char *nl = strchr(p, '\n');
        int n = lf_parse_line(p, (size_t)(nl - p) + 1, pairs, 8, err, sizeof err);
        assert_true(n > 0);
        const char *v = lf_get(pairs, n, "v");
        assert_non_null(v);
        if (z.valid[i])
            assert_string_equal(v, z.values[i]);
        else
            assert_non_null(strstr(v, "\xef\xbf\xbd"));
        p = nl + 1;
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_leaves_plain_values_bare),
        cmocka_unit_test(test_quote_escapes_spaces_quotes_and_newlines),
        cmocka_unit_test(test_redacts_password_in_url),
        cmocka_unit_test(test_redacts_password_in_keyword_form),
        cmocka_unit_test(test_line_is_logfmt_and_respects_level),
        cmocka_unit_test(test_every_value_goes_through_the_quoting),
        cmocka_unit_test(test_quote_escapes_control_del_and_invalid_utf8),
        cmocka_unit_test(test_cap_drops_whole_trailing_fields),
        cmocka_unit_test(test_registered_secrets_are_masked_everywhere),
        cmocka_unit_test(test_fuzzed_values_parse_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
