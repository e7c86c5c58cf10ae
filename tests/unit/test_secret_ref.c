/* secret_ref: what env:NAME and file:/path mean, for API keys and webhook secrets alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/secret_ref.h"

static void test_env_reference_reads_the_variable_each_time(void **state)
{
    (void)state;
    char buf[32];
    setenv("POSTPACE_TEST_SECRET", "sk_live_1", 1);
    assert_int_equal(sref_resolve("env:POSTPACE_TEST_SECRET", buf, sizeof buf), 0);
    assert_string_equal(buf, "sk_live_1");
    setenv("POSTPACE_TEST_SECRET", "sk_live_2", 1); /* rotated */
    assert_int_equal(sref_resolve("env:POSTPACE_TEST_SECRET", buf, sizeof buf), 0);
    assert_string_equal(buf, "sk_live_2");
    unsetenv("POSTPACE_TEST_SECRET");
    assert_int_equal(sref_resolve("env:POSTPACE_TEST_SECRET", buf, sizeof buf), -1);
}

static void test_env_value_that_does_not_fit_is_unavailable(void **state)
{
    (void)state;
    char buf[8];
    setenv("POSTPACE_TEST_SECRET", "12345678", 1); /* 8 bytes and a NUL: one too many */
    assert_int_equal(sref_resolve("env:POSTPACE_TEST_SECRET", buf, sizeof buf), -1);
    setenv("POSTPACE_TEST_SECRET", "1234567", 1);
    assert_int_equal(sref_resolve("env:POSTPACE_TEST_SECRET", buf, sizeof buf), 0);
    unsetenv("POSTPACE_TEST_SECRET");
}

static void test_file_reference_keeps_the_content_as_read(void **state)
{
    (void)state;
    char path[] = "/tmp/postpace-secret-XXXXXX", ref[64], buf[64];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "whsec_a whsec_b\n", 16), 16);
    close(fd);
    snprintf(ref, sizeof ref, "file:%s", path);
    assert_int_equal(sref_resolve(ref, buf, sizeof buf), 0);
    assert_string_equal(buf, "whsec_a whsec_b\n"); /* the caller trims or splits */
    unlink(path);
    assert_int_equal(sref_resolve(ref, buf, sizeof buf), -1);
}

static void test_unknown_scheme_is_unavailable(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(sref_resolve("sk_live_plain", buf, sizeof buf), -1);
    assert_int_equal(sref_resolve("vault:x", buf, sizeof buf), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_reference_reads_the_variable_each_time),
        cmocka_unit_test(test_env_value_that_does_not_fit_is_unavailable),
        cmocka_unit_test(test_file_reference_keeps_the_content_as_read),
        cmocka_unit_test(test_unknown_scheme_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
